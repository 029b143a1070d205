"""The one error type of the scraper: a message for staff and an ErrorCode for machines."""

from __future__ import annotations

from scraper.models import ErrorCode


class ScrapeError(Exception):
    """A request, a page or a download that could not be done; `code` says what kind, `str()` says why."""

    def __init__(self, code: ErrorCode | str, message: str) -> None:
        super().__init__(message)
        self.code = ErrorCode(code)

    @property
    def message(self) -> str:
        return str(self)


class BlockedAddress(ScrapeError):
    """The SSRF guard refused an address (raised before any byte is sent to it)."""

    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.BLOCKED_ADDRESS, message)
