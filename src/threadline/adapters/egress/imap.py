"""IMAP sessions (imap-tools over imaplib) connected to an address checked beforehand.

imaplib connects to the host it is given; these subclasses keep the host as the name the
session is for (TLS SNI and certificate verification, with a verifying context) and open
the TCP connection to the checked address instead, so a changed DNS answer cannot move it.
Blocking, like imaplib: run them in a worker thread.
"""

from __future__ import annotations

import imaplib
import socket
import ssl

from imap_tools import MailBox, MailBoxUnencrypted


class _PinnedIMAP4(imaplib.IMAP4):
    def __init__(self, host: str, port: int, timeout: float | None, connect_to: str) -> None:
        self._connect_to = connect_to
        super().__init__(host, port, timeout=timeout)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        return socket.create_connection((self._connect_to, self.port), timeout)


class _PinnedIMAP4SSL(imaplib.IMAP4_SSL):
    def __init__(
        self,
        host: str,
        port: int,
        timeout: float | None,
        connect_to: str,
        ssl_context: ssl.SSLContext,
    ) -> None:
        self._connect_to = connect_to
        super().__init__(host, port, ssl_context=ssl_context, timeout=timeout)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        sock = socket.create_connection((self._connect_to, self.port), timeout)
        context: ssl.SSLContext = self.ssl_context
        return context.wrap_socket(sock, server_hostname=self.host)


class PinnedMailBox(MailBox):
    """imap-tools' MailBox (IMAP over TLS) reaching `connect_to` for `host`."""

    def __init__(self, host: str, port: int, timeout: float | None, connect_to: str) -> None:
        self._connect_to = connect_to
        super().__init__(host, port, timeout=timeout, ssl_context=ssl.create_default_context())

    def _get_mailbox_client(self) -> imaplib.IMAP4:
        return _PinnedIMAP4SSL(
            self._host, self._port, self._timeout, self._connect_to, self._ssl_context
        )


class PinnedMailBoxUnencrypted(MailBoxUnencrypted):
    """imap-tools' MailBoxUnencrypted reaching `connect_to` for `host`."""

    def __init__(self, host: str, port: int, timeout: float | None, connect_to: str) -> None:
        self._connect_to = connect_to
        super().__init__(host, port, timeout=timeout)

    def _get_mailbox_client(self) -> imaplib.IMAP4:
        return _PinnedIMAP4(self._host, self._port, self._timeout, self._connect_to)
