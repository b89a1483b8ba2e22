"""The bounds every input shares: text, identifiers, integers and free-form JSON.

Whatever is stored must read back and serialize, in the API's JSON, in PostgreSQL
and in an agent's prompt. So text must be encodable as UTF-8 (JSON escapes such as
``\\ud800`` decode to lone surrogates that are not) and hold no NUL (PostgreSQL text
cannot), numbers must be finite and fit in 64 bits, and documents have a depth and
a size. ``check_tree`` applies these to every parsed document (each JSON request
body, each template); the annotated types below add the per-field lengths.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

from taskyard.model.errors import InvalidInput

MAX_INT32 = 2**31 - 1
MAX_INT64 = 2**63 - 1
MAX_DEPTH = 32  # any parsed document
ID = re.compile(r"[0-9]{1,18}")
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as text, or None."""
    if "\x00" in value:
        return "must not contain NUL characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode (it holds a lone surrogate, such as \\ud800)"
    return None


def check_tree(document: Any, *, max_depth: int = MAX_DEPTH, what: str = "Request body") -> None:
    """Refuse what could not be stored and read back: see the module's docstring.

    Iterative, so a document deeper than Python's recursion limit is refused, not crashed on.
    """
    stack: list[tuple[Any, int, str]] = [(document, 1, "")]
    while stack:
        value, depth, path = stack.pop()
        where = f"{what} at '{path}'" if path else what
        if isinstance(value, dict | list) and depth > max_depth:
            raise InvalidInput(f"{where} is nested deeper than {max_depth} levels.")
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    raise InvalidInput(f"{where}: keys must be strings.")
                _check_text(key, f"{where}: key")
                stack.append((item, depth + 1, f"{path}.{key}" if path else key))
        elif isinstance(value, list):
            stack.extend((item, depth + 1, f"{path}[{i}]") for i, item in enumerate(value))
        elif isinstance(value, str):
            _check_text(value, where)
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, int):
            if not -MAX_INT64 - 1 <= value <= MAX_INT64:
                raise InvalidInput(f"{where}: integers must fit in 64 bits.")
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise InvalidInput(f"{where}: NaN and Infinity are not numbers JSON can carry.")
        else:
            raise InvalidInput(f"{where}: {type(value).__name__} values are not allowed.")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON can carry")


def load_object(raw: bytes, what: str) -> dict[str, Any]:
    """``raw`` as a JSON object that passes :func:`check_tree`; else ``InvalidInput``
    saying what is wrong. For bodies read before any route's model: webhook deliveries.

    ``json`` raises RecursionError on deep nesting and ValueError on an integer of more
    than 4,300 digits (CPython's limit): both are the sender's mistake, told as such.
    """
    try:
        document = json.loads(raw, parse_constant=_refuse_constant)
    except RecursionError as exc:
        raise InvalidInput(f"{what} is nested deeper than {MAX_DEPTH} levels.") from exc
    except ValueError as exc:  # UnicodeDecodeError, a bad token, a huge integer, NaN
        # The decoder's words and where (line, column); not CPython's advice to raise a limit.
        reason = str(exc) if isinstance(exc, json.JSONDecodeError) else str(exc).split(":")[0]
        raise InvalidInput(f"{what} is not valid JSON in UTF-8: {reason[:200]}.") from exc
    if not isinstance(document, dict):
        raise InvalidInput(f"{what} must be a JSON object, not {_kind(document)}.")
    check_tree(document, what=what)
    return document


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    return "null" if value is None else "a number or boolean"


def _check_text(value: str, where: str) -> None:
    problem = text_problem(value)
    if problem:
        raise InvalidInput(f"{where} {problem}.")


def storable(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` made safe to store and read back, for what the server must record
    rather than refuse (an agent's output): lone surrogates and NUL become U+FFFD,
    NaN and Infinity null. Unchanged, and cheap, when there is nothing to mend."""
    try:
        text = json.dumps(document, ensure_ascii=False, allow_nan=False)
        text.encode("utf-8")
        if "\\u0000" not in text:
            return document
    except (ValueError, UnicodeEncodeError):
        pass
    return dict(_mend(document))


def mend_text(value: str) -> str:
    """Text from an agent or a tool, stored as it is but for what could not be read back."""
    return UNSTORABLE.sub("\ufffd", value)


def _mend(value: Any) -> Any:
    if isinstance(value, str):
        return mend_text(value)
    if isinstance(value, dict):
        return {_mend(str(k)): _mend(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mend(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def parse_id(text: str) -> int | None:
    """An id written in ASCII digits that fits the database, or None.

    ``str.isdigit`` accepts '²' and '٣', which ``int`` then refuses or reads as another number.
    """
    return int(text) if ID.fullmatch(text) else None


def _ascii_digits(value: Any) -> Any:
    if isinstance(value, str) and not ID.fullmatch(value):
        raise ValueError("must be written in ASCII digits (at most 18)")
    return value


# For ids in paths and queries, where pydantic would also take ' 1', '+1' or '1_0'.
Digits = BeforeValidator(_ascii_digits)


def _clean_text(value: str) -> str:
    problem = text_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def bounded_json(max_depth: int, max_bytes: int) -> Callable[[Any], Any]:
    """A validator for a free-form field: nested at most ``max_depth``, at most ``max_bytes``."""

    def check(value: Any) -> Any:
        try:
            check_tree(value, max_depth=max_depth, what="value")
        except InvalidInput as exc:
            raise ValueError(exc.message) from exc
        if len(json.dumps(value, ensure_ascii=False).encode()) > max_bytes:
            raise ValueError(f"must be at most {max_bytes} bytes as JSON")
        return value

    return check


def _printable(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    if not value.isprintable():
        raise ValueError("must hold only printable characters (no control or invisible ones)")
    return value


# Lengths match the database's columns, or bound a Text column.
Name = Annotated[str, Field(max_length=100), AfterValidator(_clean_text)]
Title = Annotated[str, Field(max_length=300), AfterValidator(_clean_text)]
Label = Annotated[str, Field(max_length=200), AfterValidator(_clean_text)]
Location = Annotated[str, Field(max_length=500), AfterValidator(_clean_text)]
# A conversation's name (``github:acme/shop#12``): compared as it is, so nothing invisible.
Thread = Annotated[str, Field(max_length=300), AfterValidator(_printable)]
Body = Annotated[str, Field(max_length=100_000), AfterValidator(_clean_text)]
JsonObject = Annotated[dict[str, Any], AfterValidator(bounded_json(8, 64_000))]
Int32 = Annotated[int, Field(ge=0, le=MAX_INT32)]
Id = Annotated[int, Field(ge=1, le=MAX_INT64)]
