"""Kubernetes Status objects for errors, shaped like apimachinery's (errors.go)."""
from __future__ import annotations


class ApiError(Exception):
    """Raised inside the sandbox; the HTTP layer turns it into a Status body."""

    def __init__(self, code: int, reason: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details or {}

    def status(self) -> dict:
        return {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": self.message, "reason": self.reason, "details": self.details,
            "code": self.code,
        }


def _qualified(plural: str, group: str) -> str:
    return f"{plural}.{group}" if group else plural


def not_found(plural: str, group: str, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{_qualified(plural, group)} "{name}" not found',
                    {"name": name, "group": group, "kind": plural})


def already_exists(plural: str, group: str, name: str) -> ApiError:
    return ApiError(409, "AlreadyExists", f'{_qualified(plural, group)} "{name}" already exists',
                    {"name": name, "group": group, "kind": plural})


def conflict(plural: str, group: str, name: str) -> ApiError:
    return ApiError(
        409, "Conflict",
        f'Operation cannot be fulfilled on {_qualified(plural, group)} "{name}": the object has been '
        "modified; please apply your changes to the latest version and try again",
        {"name": name, "group": group, "kind": plural})


def invalid(kind: str, group: str, name: str, causes: list[tuple[str, str]]) -> ApiError:
    """causes: (field, message-after-field) pairs, e.g. ("spec.selector", "Invalid value: ...")."""
    qualified = f"{kind}.{group}" if group else kind
    text = ", ".join(f"{field}: {msg}" for field, msg in causes)
    return ApiError(
        422, "Invalid", f'{qualified} "{name}" is invalid: {text}',
        {"name": name, "group": group, "kind": kind,
         "causes": [{"reason": "FieldValueInvalid", "message": msg, "field": field}
                    for field, msg in causes]})


def expired(requested: int, oldest: int) -> ApiError:
    return ApiError(410, "Expired", f"too old resource version: {requested} ({oldest})")


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def unsupported_media(message: str) -> ApiError:
    return ApiError(415, "UnsupportedMediaType", message)


def unprocessable(message: str, reason: str = "Invalid") -> ApiError:
    return ApiError(422, reason, message)


def method_not_allowed(message: str) -> ApiError:
    return ApiError(405, "MethodNotAllowed", message)
