"""Analyzer speed on 2 MB of hostile HTML, and on the fixture pages.

Run: .venv/bin/python benchmarks/page_analyze_speed.py   (prints milliseconds per case; target < 200 ms)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from test_page_analyze import hostile_pages

from phishguard.page.analyze import analyze_page


def best_of(html: str, n: int = 3) -> float:
    best = float("inf")
    for _ in range(n):
        t0 = time.perf_counter()
        view = analyze_page(html, "https://x.example.com/")
        _ = view.norm
        best = min(best, time.perf_counter() - t0)
    return best * 1000


def main() -> None:
    analyze_page("<title>warm</title><input name=a>", "https://x.example.com/")
    worst = 0.0
    for name, html in hostile_pages().items():
        ms = best_of(html)
        worst = max(worst, ms)
        print(f"{name:18} {len(html) / 1e6:5.2f} MB {ms:8.1f} ms")
    pages = sorted((ROOT / "tests" / "data" / "pages").glob("*.html"))
    total = sum(best_of(p.read_text(encoding="utf-8")) for p in pages)
    print(f"worst hostile case: {worst:.1f} ms; fixture pages: {total / len(pages):.2f} ms each")


if __name__ == "__main__":
    main()
