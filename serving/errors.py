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


class NotYourScoring(ServiceError):
    """A review of a scoring another caller asked for (only its caller, or an admin, may review it)."""

    error_code = HTTPStatus.FORBIDDEN


class ReviewAlreadyRecorded(ServiceError):
    """A second review of a scoring that does not say which review it supersedes."""

    error_code = HTTPStatus.CONFLICT


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
