"""Agents' text as Markdown: rendered, then sanitized, before a page shows it.

An agent writes whatever its model (or a prompt injected into it) produced, so its text
is hostile HTML waiting to happen. Raw HTML in the Markdown is escaped by the renderer,
and what the renderer made is cleaned again by nh3 (an allow-list): links only to
``http(s)``, never ``javascript:`` or a relative path on this server; no images at all,
so a page never loads anything from elsewhere (nor tracks who looked at it).
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

MAX_MARKDOWN = 200_000  # characters rendered; the rest is said to be clipped

_renderer = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(
    ["table", "strikethrough"]
)
_TAGS = nh3.ALLOWED_TAGS - {"img", "area", "map"}


def render_markdown(text: str) -> Markup:
    """``text`` as sanitized HTML, safe to put into a page as it is."""
    clipped = text[:MAX_MARKDOWN]
    html = _renderer.render(clipped)
    if len(text) > MAX_MARKDOWN:
        html += "<p><em>… (clipped)</em></p>"
    cleaned = nh3.clean(
        html,
        tags=_TAGS,
        url_schemes={"http", "https"},
        url_relative="deny",
        link_rel="noopener noreferrer nofollow",
    )
    return Markup(cleaned)  # sanitized by nh3 just above
