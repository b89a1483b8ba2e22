"""A unified diff as files of numbered, syntax-highlighted lines, for the diff views.

Highlighting is done here, on the server, with Pygments: each token becomes a span with
Pygments' short CSS class (``static/pygments.css`` holds the colours), so a page needs
neither a script nor an inline style for it. Everything printed is escaped first: file
names and lines are the agent's. A diff is bounded (files, lines, line length): past
that the view says what it left out.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from html import escape

import re2
from markupsafe import Markup
from pygments.lexer import Lexer
from pygments.lexers import TextLexer, get_lexer_for_filename
from pygments.token import STANDARD_TYPES, _TokenType
from pygments.util import ClassNotFound

MAX_FILES = 300
MAX_LINES = 20_000  # lines of all files together
MAX_LINE = 2_000  # characters of one line shown
HUNK = re2.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")


@dataclass(frozen=True)
class Line:
    kind: str  # "add" | "del" | "ctx" | "hunk" | "note"
    old: int | None
    new: int | None
    html: Markup


@dataclass
class FileDiff:
    path: str
    old_path: str = ""
    lines: list[Line] = field(default_factory=list)
    additions: int = 0
    deletions: int = 0
    note: str = ""  # "binary", "renamed from …"


@dataclass
class Diff:
    files: list[FileDiff]
    clipped: bool


def _css(ttype: _TokenType) -> str:
    found: _TokenType | None = ttype
    while found is not None and found not in STANDARD_TYPES:
        found = found.parent
    return STANDARD_TYPES[found] if found is not None else ""


def _lexer(path: str) -> Lexer:
    found: Lexer
    try:
        found = get_lexer_for_filename(path, stripnl=False, ensurenl=False)
    except ClassNotFound:
        found = TextLexer(stripnl=False, ensurenl=False)
    return found


def highlight(lexer: Lexer, texts: list[str]) -> list[Markup]:
    """Each of ``texts`` (consecutive lines of one file) as highlighted HTML."""
    out: list[list[str]] = [[]]
    for ttype, value in lexer.get_tokens("\n".join(texts) + "\n"):
        css = _css(ttype)
        for n, piece in enumerate(value.split("\n")):
            if n:
                out.append([])
            if piece:
                out[-1].append(
                    f'<span class="{css}">{escape(piece)}</span>' if css else escape(piece)
                )
    return [Markup("".join(parts)) for parts in out[: len(texts)]]  # escaped


def _path(header: str) -> str:
    name = header[4:].split("\t", 1)[0]
    return name[2:] if name.startswith(("a/", "b/")) else name


def _chunks(patch: str) -> Iterator[list[str]]:
    """The patch's lines, one list per file (each starting ``diff --git``)."""
    chunk: list[str] = []
    for line in patch.splitlines():
        if line.startswith("diff --git ") and chunk:
            yield chunk
            chunk = []
        chunk.append(line)
    if chunk:
        yield chunk


def _file(chunk: list[str], budget: int) -> FileDiff:
    head = chunk[0].split(" b/", 1)
    found = FileDiff(path=head[1] if len(head) == 2 else chunk[0][11:])
    body: list[tuple[str, int | None, int | None, str]] = []
    old = new = 0
    for line in chunk[1:]:
        if line.startswith("+++ ") and not body:
            found.path = found.path if line == "+++ /dev/null" else _path(line)
        elif line.startswith("--- ") and not body:
            found.old_path = "" if line == "--- /dev/null" else _path(line)
        elif line.startswith("Binary files "):
            found.note = "binary"
        elif line.startswith("rename from "):
            found.note = f"renamed from {line[12:]}"
        elif (match := HUNK.match(line)) is not None:
            old, new = int(match.group(1)), int(match.group(2))
            body.append(("hunk", None, None, line))
        elif not body or line.startswith("\\"):
            continue  # index, mode lines; "\ No newline at end of file"
        elif line.startswith("+"):
            found.additions += 1
            body.append(("add", None, new, line[1:]))
            new += 1
        elif line.startswith("-"):
            found.deletions += 1
            body.append(("del", old, None, line[1:]))
            old += 1
        else:
            body.append(("ctx", old, new, line[1:]))
            old, new = old + 1, new + 1
    shown = body[:budget]
    code = [text[:MAX_LINE] for kind, _, _, text in shown if kind != "hunk"]
    painted = iter(highlight(_lexer(found.path), code))
    for kind, o, n, text in shown:
        html = Markup(escape(text)) if kind == "hunk" else next(painted)
        found.lines.append(Line(kind, o, n, html))
    if len(body) > budget:
        found.lines.append(Line("note", None, None, Markup("… (more lines not shown)")))
    return found


def parse_diff(patch: str) -> Diff:
    """``patch`` (``git diff`` output) as files of highlighted lines, within the bounds."""
    files: list[FileDiff] = []
    budget = MAX_LINES
    clipped = False
    for chunk in _chunks(patch):
        if len(files) >= MAX_FILES or budget <= 0:
            clipped = True
            break
        files.append(_file(chunk, budget))
        budget -= len(files[-1].lines)
    return Diff(files, clipped)
