"""Processes a test starts of its own (a server, a worker): stopped politely, then firmly."""

from __future__ import annotations

import subprocess

STOP_SECONDS = 10


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, and SIGKILL if it has not exited within STOP_SECONDS."""
    process.terminate()
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
