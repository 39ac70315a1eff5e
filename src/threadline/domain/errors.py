"""Errors the domain and services raise; entrypoints turn them into problem details."""

from __future__ import annotations


class DomainError(Exception):
    """A rule was broken; the message is a reason a user can read."""

    status = 422
    title = "Unprocessable request"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidIdentity(DomainError):
    title = "Invalid identity"


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


class ChannelNotAllowed(DomainError):
    title = "Channel not allowed"
