"""Errors the service returns, each carrying its HTTP status.

BentoML turns a raised :class:`bentoml.exceptions.BentoMLException` into a
response with ``error_code`` as the status, so the API methods raise these and
never hand-build error responses. Messages name the field and the problem but
never echo a record's values: BentoML logs raised exceptions, and record
contents must not reach the logs.
"""

from __future__ import annotations

from http import HTTPStatus

from bentoml.exceptions import BentoMLException


class ServiceError(BentoMLException):
    """Base class: a client-facing error with an HTTP status."""

    error_code = HTTPStatus.BAD_REQUEST


class MissingApiKey(ServiceError):
    error_code = HTTPStatus.UNAUTHORIZED


class RoleNotAllowed(ServiceError):
    error_code = HTTPStatus.FORBIDDEN


class UnknownAuditId(ServiceError):
    error_code = HTTPStatus.NOT_FOUND


class InvalidCase(ServiceError):
    """A case that parses but breaks the data contract (e.g. as_of before birth)."""

    error_code = HTTPStatus.UNPROCESSABLE_ENTITY


class InvalidQuery(ServiceError):
    """A query parameter that parses but is out of the range the service can use."""

    error_code = HTTPStatus.UNPROCESSABLE_ENTITY


class BatchTooLarge(ServiceError):
    error_code = HTTPStatus.UNPROCESSABLE_ENTITY


class PayloadTooLarge(ServiceError):
    error_code = HTTPStatus.REQUEST_ENTITY_TOO_LARGE


class ModelRefused(RuntimeError):
    """The model behind the alias or version must not be served; the service does not start."""


class RetryLater(ServiceError):
    """A refusal that passes: the response says when to try again (``Retry-After``, seconds)."""

    error_code = HTTPStatus.SERVICE_UNAVAILABLE

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = max(1, int(retry_after_s))

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_s)}


class RateLimited(RetryLater):
    """The caller's key or role used its requests or cases for this minute (OWASP API4)."""

    error_code = HTTPStatus.TOO_MANY_REQUESTS


class ServiceBusy(RetryLater):
    """The worker already has its most requests in progress, or the rate counter is busy."""

    error_code = HTTPStatus.SERVICE_UNAVAILABLE


class AuditUnavailable(RetryLater):
    """The audit trail cannot take the row: no score is given without its audit row."""

    error_code = HTTPStatus.SERVICE_UNAVAILABLE


class KeysUnavailable(ServiceError):
    """The API key file changed and cannot be read: every keyed request is refused until fixed."""

    error_code = HTTPStatus.SERVICE_UNAVAILABLE
