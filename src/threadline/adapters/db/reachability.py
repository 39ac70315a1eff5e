"""What a command says about a database it cannot use: its URL without the password, and
which errors mean the database could not be reached (rather than a bug of ours)."""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

# A refused connection, an unknown host, a failed login or a driver's own error.
UNREACHABLE_ERRORS: tuple[type[Exception], ...] = (SQLAlchemyError, OSError)


def shown_url(url: str) -> str:
    """The database URL without its password, for messages on the terminal."""
    return make_url(url).render_as_string(hide_password=True)
