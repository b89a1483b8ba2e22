"""Every asset is taskyard's own: the vendored files are the pinned npm releases, and no
page or static file makes a browser fetch anything from elsewhere (many installations
have no internet, and a CDN would learn who uses the dashboard)."""

from __future__ import annotations

import hashlib
import re
import runpy
from html.parser import HTMLParser
from pathlib import Path

import pytest

from taskyard.web.render import STATIC

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = STATIC.parent / "templates"
PINS = runpy.run_path(str(ROOT / "scripts/vendor-web-assets"))["PINS"]
EXTERNAL = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:)?//", re.I)
# In CSS and JS every occurrence counts: a URL there is something to fetch.
EXTERNAL_IN_CODE = re.compile(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", re.I)


class _Attributes(HTMLParser):
    """The attribute values of a page's tags, where a URL would be fetched or followed
    (text between the tags may name one for people to read)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.values: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.values += [(tag, name, value or "") for name, value in attrs]


def external_references(html: str) -> list[str]:
    parser = _Attributes()
    parser.feed(html)
    found = [
        f"<{tag} {name}={value!r}>" for tag, name, value in parser.values if EXTERNAL.match(value)
    ]
    styles = re.findall(r"<style.*?</style>", html, re.S | re.I)
    return found + [m for css in styles for m in EXTERNAL_IN_CODE.findall(css)]


@pytest.mark.parametrize(("package", "version", "member", "name", "digest"), PINS)
def test_vendored_files_are_the_pinned_releases(
    package: str, version: str, member: str, name: str, digest: str
) -> None:
    data = (STATIC / "vendor" / name).read_bytes()
    assert hashlib.sha256(data).hexdigest() == digest, f"{name} is not {package}@{version}"
    readme = (STATIC / "vendor/README.md").read_text()
    assert f"| {name} | {package} | {version} |" in readme


def test_nothing_is_vendored_without_a_pin() -> None:
    pinned = {pin[3] for pin in PINS}
    code = {p.name for p in (STATIC / "vendor").iterdir() if p.suffix in {".js", ".css", ".mjs"}}
    assert code == pinned


def test_no_template_references_an_external_url() -> None:
    templates = sorted(TEMPLATES.rglob("*.html"))
    assert len(templates) > 5
    for template in templates:
        assert external_references(template.read_text()) == [], template


def test_no_static_file_references_an_external_url() -> None:
    files = [p for p in STATIC.rglob("*") if p.suffix in {".js", ".css", ".mjs", ".html"}]
    assert any(p.name == "app.css" for p in files) and any("vendor" in p.parts for p in files)
    for path in files:
        assert EXTERNAL_IN_CODE.findall(path.read_text()) == [], path


def test_the_check_finds_what_it_looks_for() -> None:
    assert external_references('<script src="https://cdn.example/x.js"></script>')
    assert external_references('<link href="//fonts.example/css">')
    assert external_references("<style>body{background:url(https://x.example/a.png)}</style>")
    assert not external_references('<p>See https://example.org for more.</p><a href="/board">b</a>')
    assert EXTERNAL_IN_CODE.findall('@import "https://fonts.example/css";')
