"""What the task page prints from hostile text: Markdown sanitized, diffs escaped and
highlighted, tool calls folded with their results."""

from __future__ import annotations

import datetime as dt

from taskyard.web.diffview import MAX_LINES, parse_diff
from taskyard.web.markdown import render_markdown
from taskyard.web.timeline import entries, entry_html, live_html

NOW = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def test_markdown_keeps_web_links_and_drops_scripts_images_and_other_links() -> None:
    html = render_markdown(
        "**bold** <script>alert(1)</script> <img src=x onerror=alert(1)>\n\n"
        "[web](https://example.com) [js](javascript:alert(1)) [here](/logout) "
        "[data](data:text/html,x) ![tracker](https://evil.example/pixel.png)\n\n"
        "| a |\n|---|\n| 1 |"
    )
    assert "<strong>bold</strong>" in html and "<table>" in html
    assert "<script" not in html and "<img" not in html and "pixel" not in html
    assert '<a href="https://example.com" rel="noopener noreferrer nofollow">web</a>' in html
    assert 'href="javascript' not in html
    assert 'href="/logout"' not in html and 'href="data:' not in html


DIFF = """diff --git a/app.py b/app.py
index 1111111..2222222 100644
--- a/app.py
+++ b/app.py
@@ -1,3 +1,3 @@
 import os
-x = "<b>old</b>"
+x = "<b>new</b>"
 print(x)
diff --git a/logo.png b/logo.png
new file mode 100644
index 0000000..3333333
Binary files /dev/null and b/logo.png differ
diff --git a/old name.txt b/new name.txt
similarity index 90%
rename from old name.txt
rename to new name.txt
"""


def test_a_diff_is_numbered_highlighted_and_escaped() -> None:
    diff = parse_diff(DIFF)
    app, logo, renamed = diff.files
    assert (app.path, app.additions, app.deletions) == ("app.py", 1, 1)
    kinds = [(line.kind, line.old, line.new) for line in app.lines]
    assert kinds == [
        ("hunk", None, None),
        ("ctx", 1, 1),
        ("del", 2, None),
        ("add", None, 2),
        ("ctx", 3, 3),
    ]
    added = str(app.lines[3].html)
    assert "<b>" not in added and "&lt;b&gt;" in added and 'class="n"' in added
    assert logo.note == "binary" and not logo.lines
    assert renamed.path == "new name.txt" and renamed.note == "renamed from old name.txt"


def test_a_huge_diff_is_clipped_with_a_note() -> None:
    body = "".join(f"+line {n}\n" for n in range(MAX_LINES + 10))
    diff = parse_diff(f"diff --git a/a b/a\n--- /dev/null\n+++ b/a\n@@ -0,0 +1 @@\n{body}")
    [big] = diff.files
    assert len(big.lines) == MAX_LINES + 1 and big.lines[-1].kind == "note"


def test_tool_calls_fold_their_results_and_results_arrive_out_of_band() -> None:
    call = {"type": "tool_call", "id": "toolu_1", "name": "Bash", "input": {"command": "ls"}}
    result = {"type": "tool_result", "id": "toolu_1", "output": "<i>a.txt</i>", "is_error": False}
    rows = [
        (1, "agent", call, NOW),
        (2, "agent", {"type": "session", "session_id": "s"}, NOW),
        (3, "agent", result, NOW),
        (4, "agent", {"type": "text", "text": "Done: [see](javascript:x)"}, NOW),
    ]
    shown = entries(rows)
    assert [e.kind for e in shown] == ["tool_call", "text"]
    folded = str(entry_html(shown[0]))
    assert (
        "<details>" in folded
        and "&lt;i&gt;a.txt&lt;/i&gt;" in folded
        and 'id="call-toolu_1"' in folded
    )
    assert 'href="javascript' not in str(entry_html(shown[1]))
    live = live_html(3, "agent", result, NOW)
    assert 'hx-swap-oob="true"' in live and 'id="call-toolu_1"' in live
    assert live_html(2, "agent", {"type": "session"}, NOW) == ""
