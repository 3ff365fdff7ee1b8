"""The review queue stays fast on a big store: one page of 50 out of 100,000 flags, each filter.

Prints the timings (``pytest -s``); fails if a page takes longer than :data:`BUDGET_S` (median).
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import pytest
from test_store import T0, new_flag

from phishguard.moderation.store import FlagQuery, Store

N_FLAGS = 100_000
BATCH = 2_000
BUDGET_S = 0.05  # a page of the queue, median of several runs
TENANTS = [f"tenant{i}" for i in range(20)]
CATEGORIES = ["lookalike", "payment", "card", "urgency", "shortener", "kit"]
BRANDS = ["avito", "youla", "ozon", "sber", "tinkoff", "wildberries", "cdek", "pochta", "boxberry", None]


def _flag(i: int) -> Any:
    domain = f"d{i % 997}.example"
    return new_flag(
        tenant=TENANTS[i % len(TENANTS)],
        message_id=f"m{i}",
        score=0.5 + (i % 50) / 100,
        categories=[CATEGORIES[i % 6], CATEGORIES[(i // 6) % 6]],
        brand=BRANDS[i % len(BRANDS)],
        domains=[domain],
        campaign_keys=[f"domain:{domain}", f"kit:{i % 131}"],
        created_at=T0 + i,
    )


def _fill(store: Store) -> list[int]:
    ids: list[int] = []
    for start in range(0, N_FLAGS, BATCH):
        ids += store.add_flags([_flag(i) for i in range(start, start + BATCH)])
    store.decide(action="confirm", moderator="m", flag_ids=ids[::3], now=T0 + N_FLAGS)
    return ids


def _median_s(store: Store, query: FlagQuery, runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        page = store.list_flags(query)
        times.append(time.perf_counter() - t)
        assert page.items and len(page.items) <= 50
    return statistics.median(times)


@pytest.mark.slow
def test_a_page_of_50_out_of_100k_flags_is_fast(store: Store, request: pytest.FixtureRequest) -> None:
    t = time.perf_counter()
    ids = _fill(store)
    fill_s = time.perf_counter() - t
    queries = {
        "newest": FlagQuery(),
        "status=open": FlagQuery(status="open"),
        "status=confirmed": FlagQuery(status="confirmed"),
        "tenant": FlagQuery(tenant="tenant7"),
        "category": FlagQuery(category="shortener"),
        "brand": FlagQuery(brand="cdek"),
        "domain": FlagQuery(domain="d500.example"),
        "campaign": FlagQuery(campaign="kit:77"),
        "time range": FlagQuery(since=T0 + 40_000, until=T0 + 41_000),
        "min_score": FlagQuery(min_score=0.95),
        "deep page": FlagQuery(before_id=ids[len(ids) // 2]),
        "open+tenant+category": FlagQuery(status="open", tenant="tenant4", category="card"),
    }
    timings = {name: _median_s(store, q) for name, q in queries.items()}
    backend = request.node.callspec.params["store_url"]
    print(f"\n{backend}: {N_FLAGS} flags stored in {fill_s:.1f} s; a page of 50 (median ms):")
    for name, seconds in timings.items():
        print(f"  {name:22} {seconds * 1000:7.2f}")
    slow = {name: s for name, s in timings.items() if s > BUDGET_S}
    assert not slow, slow
