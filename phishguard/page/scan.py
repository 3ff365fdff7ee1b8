"""Scan a message and the pages behind its links: what ``scan --fetch`` and the service's ``"fetch": true`` use.

Only links that are no brand's official domain are fetched (at most ``max_links`` per message, in
order, each once). Each page's findings are added to the message's verdict; a refused or failed fetch
adds a ``page.fetch-refused`` / ``page.fetch-failed`` degraded reason instead of raising.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from ..ruleset.engine import run_page_rules
from ..verdict import Finding, Verdict
from .analyze import PageView
from .fetch import FetchResult, PageFetcher

if TYPE_CHECKING:
    from ..scanner import Scanner

__all__ = ["FetchingJudge", "page_findings", "scan_fetching", "scan_fetching_within"]


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
    scanner: Scanner,
    fetcher: PageFetcher,
    text: str,
    *,
    lang: str | None = None,
    max_links: int = 3,
    id: str | int | None = None,
    context: dict | None = None,
) -> Verdict:
    """``scanner.scan(text)`` plus the findings of the pages behind its non-official links."""
    verdict = scanner.scan(text, id=id, context=context, lang=lang)
    # the verdict already lists the links (official ones marked): no second extraction
    urls = list(dict.fromkeys(u.url for u in verdict.urls if u.official is not True))[:max_links]
    if not urls:
        return verdict
    results = await asyncio.gather(*(fetcher.fetch(u) for u in urls))
    extra = [f for r in results for f in page_findings(scanner, r)]
    return scanner.merge(verdict, extra)


async def scan_fetching_within(
    scanner: Scanner, fetcher: PageFetcher, text: str, budget_s: float, **kw: Any
) -> Verdict:
    """:func:`scan_fetching` within ``budget_s``; past it, the verdict without pages plus a
    ``page.fetch-failed`` degraded reason saying the time budget was spent."""
    try:
        return await asyncio.wait_for(scan_fetching(scanner, fetcher, text, **kw), budget_s)
    except TimeoutError:
        verdict = scanner.scan(text, id=kw.get("id"), context=kw.get("context"), lang=kw.get("lang"))
        spent = FetchResult(url="", final_url="", failed=f"the fetch time budget ({budget_s:g} s) was spent")
        return scanner.merge(verdict, page_findings(scanner, spent))


class FetchingJudge:
    """Scan messages with page fetching from synchronous code (the CLI): one event loop and one
    fetcher for all messages, closed by :meth:`close`."""

    def __init__(self, scanner: Scanner, settings: Any):
        from .fetch import config_from_settings

        self.scanner = scanner
        self.max_links = settings.fetch.max_links
        self._loop = asyncio.new_event_loop()
        self._fetcher = PageFetcher(config_from_settings(settings))
        self._loop.run_until_complete(self._fetcher.open())

    def __call__(self, text: str, *, id: Any = None, context: dict | None = None, lang: str | None = None) -> Verdict:
        return self._loop.run_until_complete(
            scan_fetching(self.scanner, self._fetcher, text, lang=lang, max_links=self.max_links, id=id, context=context)
        )

    def close(self) -> None:
        self._loop.run_until_complete(self._fetcher.close())
        self._loop.close()
