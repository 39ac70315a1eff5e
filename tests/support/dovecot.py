"""A private Dovecot IMAP server on 127.0.0.1 for the IMAP poller's tests.

It runs from a generated configuration in a temporary directory (its own base_dir,
state_dir, logs and maildirs), so it never touches a system Dovecot. Any user name logs
in with PASSWORD and gets an empty maildir of its own: each test takes a fresh user.
Missing Dovecot skips the tests on a laptop; under CI (CI=true) it fails them.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.delivery_workers import wait_or_kill
from tests.support.smtp_sink import free_port

PASSWORD = "imap-test-password"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@dataclass(frozen=True)
class Dovecot:
    host: str
    port: int
    root: Path

    def new_user(self) -> str:
        return f"user{uuid.uuid4().hex[:10]}"

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""


def dovecot_binary() -> str | None:
    return shutil.which("dovecot") or next(
        (p for p in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot") if os.path.exists(p)), None
    )


def _users() -> tuple[int, int, str, str]:
    """(mail uid, mail gid, internal user, login user). Dovecot refuses mail access as
    root, so as root the mailboxes belong to `nobody`; otherwise everything runs as us."""
    if os.getuid() == 0:
        nobody = pwd.getpwnam("nobody")
        return nobody.pw_uid, nobody.pw_gid, "dovecot", "dovenull"
    me = pwd.getpwuid(os.getuid())
    return me.pw_uid, me.pw_gid, me.pw_name, me.pw_name


def _config(root: Path, port: int) -> str:
    uid, gid, internal_user, login_user = _users()
    return f"""
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
instance_name = threadline-test-{port}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal_user}
default_login_user = {login_user}
first_valid_uid = {min(uid, 500) if uid else 1}
first_valid_gid = 0
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = static
  args = password={PASSWORD}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service stats {{
  inet_listener http {{
    port = 0
  }}
}}
"""


def _wait_listening(port: int, process: subprocess.Popen[bytes], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


@contextmanager
def running_dovecot() -> Iterator[Dovecot]:
    binary = dovecot_binary()
    if binary is None:
        if IN_CI:
            pytest.fail("dovecot (dovecot-imapd) is required in CI but is not installed")
        pytest.skip("dovecot is not installed on this machine (apt-get install dovecot-imapd)")
    root = Path(tempfile.mkdtemp(prefix="tl-dovecot-"))
    root.chmod(0o755)
    uid, gid, _, _ = _users()
    for sub in ("run", "state", "mail"):
        (root / sub).mkdir(mode=0o755)
    os.chown(root / "mail", uid, gid)
    port = free_port()
    conf = root / "dovecot.conf"
    conf.write_text(_config(root, port))
    process = subprocess.Popen(
        [binary, "-F", "-c", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        if not _wait_listening(port, process, timeout=15):
            process.kill()
            output = process.communicate(timeout=5)[0].decode(errors="replace")
            log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
            pytest.fail(f"dovecot did not start:\n{output}\n{log}")
        yield Dovecot("127.0.0.1", port, root)
    finally:
        if process.poll() is None:
            process.terminate()
            wait_or_kill(process)
        shutil.rmtree(root, ignore_errors=True)
