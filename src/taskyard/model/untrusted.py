"""Text from outside (issue bodies, comments, review comments, CI logs) made safe to read.

What a person sees on GitHub and what an agent reads must be the same words: whatever
a page hides from its reader (HTML comments, invisible and bidirectional characters,
image alt text and link titles, elements hidden by attribute or style, terminal escape
sequences) is removed; text shaped like a credential is redacted; and the result has a
size. :mod:`taskyard.model.fence` hands the result to the agent as data.

Every pattern is RE2 (linear time): the text is hostile, and a scan of it must not be
made to backtrack. An HTML sanitizer (nh3) is not used: it answers HTML, escaping every
``<`` and ``&`` of the Markdown and code around the tags, which the agent must read as
written.
"""

from __future__ import annotations

import functools
import itertools
from typing import Any

import re2

from taskyard.model.redaction import redact_credentials

LIMIT = 20_000  # characters of one text an agent is shown
# Characters of one text taskyard reads at all: GitHub bounds a body or comment at 65,536;
# a longer text (a CI log) is cut by its caller to the part that matters (its end).
RAW_LIMIT = 200_000


def _ranges(*spans: tuple[int, int]) -> dict[int, None]:
    return dict.fromkeys(itertools.chain.from_iterable(range(a, b + 1) for a, b in spans))


# Characters that render as nothing, or reorder what is around them: every format
# character (Unicode category Cf: zero-width, bidirectional controls, tags, the soft
# hyphen...), control characters but tab and newline, variation selectors (which can
# smuggle bytes after a visible character), and blank fillers. GitHub warns about
# "hidden or bidirectional Unicode text" for the same characters.
INVISIBLE: dict[int, None] = _ranges(
    (0x00, 0x08), (0x0B, 0x0C), (0x0E, 0x1F), (0x7F, 0x9F), (0xAD, 0xAD), (0x34F, 0x34F),
    (0x600, 0x605), (0x61C, 0x61C), (0x6DD, 0x6DD), (0x70F, 0x70F), (0x890, 0x891),
    (0x8E2, 0x8E2), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180F), (0x200B, 0x200F),
    (0x202A, 0x202E), (0x2060, 0x2064), (0x2066, 0x206F), (0x3164, 0x3164), (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF9, 0xFFFB), (0x110BD, 0x110BD),
    (0x110CD, 0x110CD), (0x13430, 0x1343F), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A),
    (0xE0000, 0xE007F), (0xE0100, 0xE01EF),
)  # fmt: skip
CHARACTERS: dict[int, str | None] = {**INVISIBLE, 0x2028: "\n", 0x2029: "\n"}

# What HTML never shows: a comment (to its first end, or to the end of the text when it
# has none), CDATA, a processing instruction, a declaration.
COMMENT = re2.compile(r"(?s)<!--.*?(?:--!?>|\z)|<!\[CDATA\[.*?\]\]>|<\?.*?\?>|<![A-Za-z][^>]*>")
ESCAPE = re2.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\|\z)|[@-Z\\-_])")
RETURN = re2.compile(r"\r\n?")
# A tag, its attributes (quoted values may hold '>') and whether it closes itself.
ATTRIBUTE = r"""\s+[^\s"'<>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?"""
TAG = re2.compile(rf"<([A-Za-z][A-Za-z0-9-]{{0,30}})((?:{ATTRIBUTE})*)\s*(/?)>")
ONE_ATTRIBUTE = re2.compile(ATTRIBUTE)
KEPT_ATTRIBUTES = {"href", "src"}  # where a link goes is visible; alt, title, data-* are not
HIDING = re2.compile(
    r"""(?i)(?:^|\s)(?:hidden|aria-hidden\s*=\s*["']?true)(?:[\s=/"']|$)|"""
    r"style\s*=\s*[\"']?[^\"'>]*(?:display\s*:\s*none|visibility\s*:\s*hidden|"
    r"(?:opacity|font-size|width|height|max-height)\s*:\s*0(?:[^.\d]|$))"
)
HIDING_ELEMENTS = {"script", "style", "template", "noscript", "textarea", "title"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}  # fmt: skip
# An image: its alt text, then where it is (inline, or a reference).
IMAGE_ALT = re2.compile(r"!\[(?:[^\[\]]|\[[^\[\]]*\])*\]([(\[])")
LINK_TITLE = re2.compile(
    r"""\]\(\s*(<[^<>\n]*>|[^\s()]*(?:\([^\s()]*\)[^\s()]*)*)\s+(?:"[^"]*"|'[^']*'|\([^()]*\))\s*\)"""
)
DEFINITION = re2.compile(
    r"(?m)^ {0,3}\[([^\]\n]{1,999})\]:[ \t]*(\S+)"
    r"""(?:[ \t]+(?:"[^"\n]*"|'[^'\n]*'|\([^)\n]*\)))?[ \t]*(\n|$)"""
)
LABEL = re2.compile(r"\[([^\]\n]{1,999})\](:?)")
ENTITY = re2.compile(
    r"&(?:#[xX]([0-9a-fA-F]{1,6});?|#([0-9]{1,7});?|(shy|zwj|zwnj|lrm|rlm|ZeroWidthSpace|"
    r"NoBreak|InvisibleTimes|InvisibleComma|ApplyFunction|it|ic|af|NegativeVeryThinSpace|"
    r"NegativeThinSpace|NegativeMediumSpace|NegativeThickSpace);)"
)


def sanitize(text: str, limit: int = LIMIT) -> str:
    """What a reader of ``text`` rendered on GitHub sees, redacted, at most ``limit``
    characters (with a line saying it was cut)."""
    raw = text[:RAW_LIMIT]
    raw = COMMENT.sub("", raw)
    raw = RETURN.sub("\n", ESCAPE.sub("", raw))
    raw = _attributes_dropped(_hidden_elements_dropped(raw))
    raw = _markdown_hiding_dropped(raw)
    raw = ENTITY.sub(_visible_entity, raw).translate(CHARACTERS)
    return bound(redact_credentials(raw), limit, cut=len(text) > RAW_LIMIT)


def bound(text: str, limit: int, *, cut: bool = False) -> str:
    """``text`` cut to ``limit`` characters, saying so when it was (or already had been)."""
    if len(text) <= limit and not cut:
        return text
    return f"{text[:limit]}\n[taskyard cut this text here: it was longer than {limit:,} characters]"


def _hidden_elements_dropped(text: str) -> str:
    """Without elements a page would not show, with all they hold."""
    kept: list[str] = []
    position = 0
    for match in TAG.finditer(text):
        if match.start() < position:
            continue  # inside an element already dropped
        name = match.group(1).lower()
        if name not in HIDING_ELEMENTS and not HIDING.search(match.group(2)):
            continue
        kept.append(text[position : match.start()])
        # Only a void element ends where it starts: HTML ignores the slash of <div/>.
        position = match.end() if name in VOID else _element_end(text, name, match.end())
    kept.append(text[position:])
    return "".join(kept)


@functools.lru_cache(maxsize=64)
def _same_name(name: str) -> Any:
    return re2.compile(rf"(?i)<(/?){name}(?:\s[^>]*)?>")


def _element_end(text: str, name: str, start: int) -> int:
    """Where the element opened just before ``start`` ends; an unclosed one runs to the end."""
    depth = 1
    for match in _same_name(name).finditer(text, start):
        depth += -1 if match.group(1) else 1
        if depth == 0:
            return int(match.end())
    return len(text)


def _attributes_dropped(text: str) -> str:
    """Tags keep only the attributes a reader sees the effect of."""

    def keep(match: Any) -> str:
        attributes = [
            a.group(0)
            for a in ONE_ATTRIBUTE.finditer(match.group(2))
            if a.group(0).strip().split("=", 1)[0].strip().lower() in KEPT_ATTRIBUTES
        ]
        return f"<{match.group(1)}{''.join(attributes)}{' /' if match.group(3) else ''}>"

    return TAG.sub(keep, text)  # type: ignore[no-any-return]


def _markdown_hiding_dropped(text: str) -> str:
    """Image alt text, link titles, and link definitions nothing refers to (``[//]: # (...)``,
    Markdown's own comment) are not shown; a referenced definition keeps its label and URL."""
    text = LINK_TITLE.sub(r"](\1)", IMAGE_ALT.sub(r"![]\1", text))
    used = {m.group(1).strip().lower() for m in LABEL.finditer(text) if not m.group(2)}

    def definition(match: Any) -> str:
        label = match.group(1)
        if label.strip().lower() not in used:
            return ""
        return f"[{label}]: {match.group(2)}{match.group(3)}"

    return DEFINITION.sub(definition, text)  # type: ignore[no-any-return]


def _visible_entity(match: Any) -> str:
    """A character reference stays unless it names an invisible character."""
    if match.group(3):
        return ""
    code = int(match.group(1), 16) if match.group(1) else int(match.group(2))
    return "" if code > 0x10FFFF or code in INVISIBLE or code == 0 else str(match.group(0))
