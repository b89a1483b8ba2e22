"""How fast an agent's event reaches a person's open task page.

Starts a real ``taskyard serve`` (SQLite, embedded Temporal, in-process worker) and runs
a task whose ``command`` agent prints numbered lines at a steady rate. Two watchers
follow it from before it starts, and each line's delay is measured from when it was
stored (the event's ``created_at``) to when it was:

- page: shown in the task page's timeline in Chromium (Debian's, driven by Playwright),
  as a MutationObserver on the timeline sees the entry appended by the htmx SSE
  extension (the page's own stream of rendered HTML fragments);
- stream: received by a client reading that same stream (``/tasks/{key}/live``).

Aim: p95 under 200 ms over ~100 events.

Usage: python bench/dashboard_live.py [-n 100] [--rate 20]
"""

from __future__ import annotations

import argparse
import re
import shutil
import tempfile
import threading
import time
from pathlib import Path

import httpx
from events import STEADY, template, timestamp
from overhead import TOKEN, percentile, serving
from playwright.sync_api import sync_playwright
from workspace import make_repo

WORKFLOW = {"name": "stream", "stages": [{"key": "code", "agent": {}}, {"key": "done"}]}
LINE = re.compile(r'class="out">(\d+) [\d.]+<')
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Runs in every page before its own scripts: whether the page's live stream is open.
OPENED = 'document.addEventListener("htmx:sseOpen", () => { window.streamOpen = true; });'
# Runs in the page: when each output line was appended to the timeline (epoch ms).
OBSERVE = """() => {
  window.shown = {};
  new MutationObserver((changes) => {
    const now = performance.timeOrigin + performance.now();
    for (const change of changes) {
      for (const node of change.addedNodes) {
        const out = node.querySelector && node.querySelector("code.out");
        if (out) { window.shown[out.textContent.split(" ")[0]] = now; }
      }
    }
  }).observe(document.getElementById("timeline"), {childList: true});
}"""


def ms(values: list[float], q: float) -> str:
    return f"{percentile(values, q) * 1000:6.1f} ms"


def stored_at(http: httpx.Client, key: str) -> dict[int, float]:
    items = http.get(
        f"/api/v1/tasks/{key}/events", params={"kind": "output", "limit": 5000}
    ).json()["items"]
    return {int(e["data"]["line"].split()[0]): timestamp(e["created_at"]) for e in items}


def read_stream(
    url: str, key: str, lines: int, ready: threading.Event, got: dict[int, float]
) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "text/event-stream"}
    with httpx.stream("GET", f"{url}/tasks/{key}/live", headers=headers, timeout=120) as stream:
        ready.set()
        for line in stream.iter_lines():
            found = LINE.search(line)
            if found:
                got[int(found.group(1))] = time.time()
                if len(got) >= lines:
                    return


def report(label: str, stored: dict[int, float], seen: dict[int, float]) -> None:
    delays = [seen[n] - stored[n] for n in stored if n in seen]
    if len(delays) < len(stored):
        raise SystemExit(f"{label}: saw {len(delays)} of {len(stored)} lines")
    print(
        f"  {label:7} p50 {ms(delays, 0.5)}  p95 {ms(delays, 0.95)}  max {ms(delays, 1)}"
        f"  ({len(delays)} events)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100, help="lines the agent prints (100)")
    parser.add_argument("--rate", type=float, default=20, help="lines a second (20)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="taskyard-bench-") as tmp:
        root = Path(tmp)
        repo = root / "remote.git"
        make_repo(repo, 10)
        with (
            serving(root / "data") as (_, url),
            httpx.Client(
                base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60
            ) as http,
            sync_playwright() as playwright,
        ):
            http.post("/api/v1/workflows", json=WORKFLOW).raise_for_status()
            script = STEADY.format(n=args.n, rate=args.rate)
            http.post("/api/v1/templates", content=template("steady", script)).raise_for_status()
            body = {"title": "live", "repository": str(repo), "template": "steady", "run": False}
            key = http.post("/api/v1/tasks", json={**body, "workflow": "stream"}).json()["key"]

            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page()
            page.add_init_script(OPENED)
            page.goto(f"{url}/login?next=/tasks/{key}")
            page.get_by_label("Or an API token").fill(TOKEN)
            page.get_by_role("button", name="Sign in with the token").click()
            page.wait_for_url(f"{url}/tasks/{key}")
            page.evaluate(OBSERVE)
            streamed: dict[int, float] = {}
            ready = threading.Event()
            reader = threading.Thread(target=read_stream, args=(url, key, args.n, ready, streamed))
            reader.start()
            ready.wait(30)
            page.wait_for_function("() => window.streamOpen === true")
            http.post(f"/api/v1/tasks/{key}/start").raise_for_status()
            page.wait_for_function(
                f"() => Object.keys(window.shown).length >= {args.n}", timeout=120_000
            )
            reader.join(60)
            shown = {int(k): v / 1000 for k, v in page.evaluate("window.shown").items()}
            browser.close()
            stored = stored_at(http, key)
            print(
                f"taskyard dashboard live: {args.n} events at {args.rate:g}/s, event stored → shown"
            )
            report("page", stored, shown)
            report("stream", stored, streamed)


if __name__ == "__main__":
    main()
