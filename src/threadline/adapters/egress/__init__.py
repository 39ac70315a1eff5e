"""Outbound connections to places a workspace or a request chose: the name is resolved,
every address it resolves to is checked against the rules of domain/security/egress.py, and the
connection is made to an address that was checked, so a DNS answer that changes between
the check and the connection (DNS rebinding) cannot steer it inside.

- resolve.py: resolving and checking a host; a connected socket for SMTP.
- http.py: an httpx client whose every connection (redirects included) is checked.
- imap.py: IMAP sessions connected to a checked address, TLS verified for the name.
"""
