"""How long making text from outside safe takes: an ordinary issue body, and hostile texts
of the largest size taskyard reads (shapes that make backtracking engines go quadratic).

Every pattern is RE2, so time grows with the text's length and nothing else; this prints
the CPU time of each shape, the median of several runs.

Aim: an issue body of GitHub's largest size (65,536 characters) in under 50 ms; any hostile
text of the largest size read (200,000 characters) in under 1 s.

Usage: python bench/untrusted.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

from taskyard.model.fence import Untrusted, prompt_section
from taskyard.model.untrusted import RAW_LIMIT, sanitize

ISSUE = (
    "## Steps\n1. Open the cart\n2. Remove the last item\n\n```python\nTraceback (most recent "
    "call last):\n  File \"cart.py\", line 42, in total\nTypeError: 'NoneType'\n```\n"
    "![screenshot](https://github.com/user-attachments/assets/1.png) see [docs](https://x)\n"
    "<details><summary>Logs</summary>\n\n\x1b[31mERROR\x1b[0m failed\n</details>\n"
)
HOSTILE = ("<!--", "<a b=", "![[", "<div hidden>", "](x ", "&#", "[a]: x '", "\x1b[", "<?", "x")


def cpu_ms(text: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.process_time()
        sanitize(text)
        times.append((time.process_time() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    body = (ISSUE * (65_536 // len(ISSUE) + 1))[:65_536]
    print(f"issue body, 65,536 characters: {cpu_ms(body, runs):.1f} ms CPU (aim < 50)")
    start = time.process_time()
    prompt_section("Fix it.", [Untrusted(f"comment {i}", body) for i in range(10)], requester="@a")
    print(f"prompt of 10 such comments: {(time.process_time() - start) * 1000:.1f} ms CPU")
    for unit in HOSTILE:
        text = unit * (RAW_LIMIT // len(unit) + 1)
        print(f"{unit!r:>8} x {len(text) // len(unit):,}: {cpu_ms(text, runs):.1f} ms CPU (< 1000)")


if __name__ == "__main__":
    main()
