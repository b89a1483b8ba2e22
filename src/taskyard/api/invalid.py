"""What was wrong with a request's fields, in one wording for the API and the forms."""

from __future__ import annotations

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError


def describe(exc: RequestValidationError | ValidationError) -> str:
    """A request's invalid fields, in the words API clients and the dashboard's forms get."""
    parts = []
    for error in exc.errors()[:5]:
        loc = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
        message = error.get("msg", "invalid")
        if error.get("type") == "json_invalid":
            message = "request body is not valid JSON"
        elif error.get("type") == "extra_forbidden":
            message = "unknown field"
        parts.append(f"{loc}: {message}" if loc else message)
    return "; ".join(parts)
