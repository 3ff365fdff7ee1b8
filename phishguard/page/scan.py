"""Scan a message and the pages behind its links: what ``scan --fetch`` and the service's ``"fetch": true`` use.

Only links that are no brand's official domain are fetched (at most ``max_links`` per message, in
order, each once). Each page's findings are added to the message's verdict; a refused or failed fetch
adds a ``page.fetch-refused`` / ``page.fetch-failed`` degraded reason instead of raising.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from ..ruleset.engine import run_page_rules
from ..verdict import Finding, Verdict
from .analyze import PageView
from .fetch import FetchResult, PageFetcher

if TYPE_CHECKING:
    from ..scanner import Scanner

__all__ = ["page_findings", "scan_fetching"]


def page_findings(scanner: Scanner, result: FetchResult) -> list[Finding]:
    """Findings of one fetch: the page's rules on the final URL, or the degraded reason of a refusal."""
    if result.ok:
        view = scanner.page_view(result.html, result.final_url)
        if result.truncated:
            view.signals.setdefault("truncated", f"body cut at {len(result.html.encode('utf-8', 'replace'))} bytes")
    else:
        signal = "fetch_refused" if result.refused else "fetch_failed"
        view = PageView(url=result.url, host=None, signals={signal: f"{result.url}: {result.refused or result.failed}"})
    return run_page_rules(scanner.ruleset, view)


async def scan_fetching(
    scanner: Scanner, fetcher: PageFetcher, text: str, *, lang: str | None = None, max_links: int = 3
) -> Verdict:
    """``scanner.scan(text)`` plus the findings of the pages behind its non-official links."""
    verdict = scanner.scan(text, lang=lang)
    _, links = scanner.views(text)
    urls = list(dict.fromkeys(link.span.url for link in links if link.official_brand is None))[:max_links]
    results = await asyncio.gather(*(fetcher.fetch(u) for u in urls))
    extra = [f for r in results for f in page_findings(scanner, r)]
    return scanner.merge(verdict, extra)

