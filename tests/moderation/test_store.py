"""The moderation store: one suite, run on SQLite and on PostgreSQL (see conftest.py)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import ENDPOINTS

from phishguard.moderation.store import (
    FlagQuery,
    NewFlag,
    NotFound,
    Sighting,
    Store,
    StoreError,
    open_store,
)
from phishguard.moderation.store import sql as sql_module
from phishguard.moderation.store.migrations import MIGRATIONS

ALL_MIGRATIONS = [name for name, _ in MIGRATIONS]
ROOT = Path(__file__).resolve().parents[2]
T0 = 1_700_000_000.0


def new_flag(**changes: Any) -> NewFlag:
    """A realistic flag; ``changes`` override fields."""
    base = NewFlag(
        tenant="avito",
        message_id="m-1",
        verdict="fraud",
        score=0.93,
        text="Оплатите заказ по ссылке https://avito-pay.example/pay/123",
        context={"chat_id": "c-9", "sender_id": "u-42", "listing_id": "l-7", "nested": {"a": [1, 2.5, None]}},
        reasons=[{"id": "lookalike", "category": "lookalike", "brand": "avito", "evidence": ["avito-pay"]}],
        urls=[{"url": "https://avito-pay.example/pay/123", "registered_domain": "avito-pay.example"}],
        models={"text": "text-2024.1", "url": None},
        rules_version="2024.05.1",
        categories=["lookalike", "payment"],
        brand="avito",
        domains=["avito-pay.example"],
        campaign_keys=["domain:avito-pay.example", "path:avito/pay/<n>"],
        created_at=T0,
    )
    return dataclasses.replace(base, **changes)


def as_new(flag: Any) -> NewFlag:
    """The NewFlag fields of a stored Flag."""
    return NewFlag(**{f.name: getattr(flag, f.name) for f in dataclasses.fields(NewFlag)})


# -- flags -------------------------------------------------------------------------------------


def test_flags_round_trip_every_field(store: Store) -> None:
    flags = [
        new_flag(),
        new_flag(
            message_id=None,
            text=None,
            brand=None,
            domains=[],
            campaign_keys=[],
            categories=[],
            reasons=[],
            urls=[],
            models={},
            context={},
            score=0.5,
            verdict="suspicious",
            created_at=T0 + 0.125,
        ),
    ]
    ids = store.add_flags(flags)
    assert len(ids) == 2 and ids[0] < ids[1]
    for flag_id, sent in zip(ids, flags, strict=True):
        got = store.get_flag(flag_id)
        assert as_new(got) == sent
        assert (got.id, got.status, got.decided_at, got.decided_by) == (flag_id, "open", None, None)


def test_get_flag_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        store.get_flag(12345)


def test_add_flags_is_all_or_nothing(store: Store) -> None:
    bad = new_flag(tenant=None)  # NOT NULL violated by the second flag of the batch
    with pytest.raises(StoreError) as info:
        store.add_flags([new_flag(), bad])
    assert "\n" not in str(info.value)
    assert store.list_flags(FlagQuery()).items == []
    assert store.add_flags([new_flag()]) and len(store.list_flags(FlagQuery()).items) == 1


def _varied_flags() -> list[NewFlag]:
    """Flags that differ in every filtered attribute."""
    out = []
    for i in range(24):
        domain = f"d{i % 3}.example"
        out.append(
            new_flag(
                tenant=("avito", "youla")[i % 2],
                message_id=f"m{i}",
                score=round(0.5 + i * 0.02, 2),
                categories=[("lookalike", "payment", "card")[i % 3]] + (["urgency"] if i % 4 == 0 else []),
                brand=("avito", "sber", None)[i % 3] if i % 5 else "ozon",
                domains=[domain] + (["shared.example"] if i % 6 == 0 else []),
                campaign_keys=[f"domain:{domain}", f"kit:{i % 4}"],
                created_at=T0 + i * 10,
            )
        )
    return out


FILTERS: list[tuple[dict[str, Any], Callable[[NewFlag, str], bool]]] = [
    ({"tenant": "youla"}, lambda f, s: f.tenant == "youla"),
    ({"category": "payment"}, lambda f, s: "payment" in f.categories),
    ({"category": "urgency"}, lambda f, s: "urgency" in f.categories),
    ({"brand": "sber"}, lambda f, s: f.brand == "sber"),
    ({"domain": "shared.example"}, lambda f, s: "shared.example" in f.domains),
    ({"domain": "d1.example"}, lambda f, s: "d1.example" in f.domains),
    ({"campaign": "kit:2"}, lambda f, s: "kit:2" in f.campaign_keys),
    ({"since": T0 + 50}, lambda f, s: f.created_at >= T0 + 50),
    ({"until": T0 + 50}, lambda f, s: f.created_at < T0 + 50),
    ({"min_score": 0.8}, lambda f, s: f.score >= 0.8),
    ({"max_score": 0.6}, lambda f, s: f.score <= 0.6),
    ({"status": "confirmed"}, lambda f, s: s == "confirmed"),
    ({"status": "open"}, lambda f, s: s == "open"),
    (
        {"tenant": "avito", "domain": "d0.example", "min_score": 0.6},
        lambda f, s: f.tenant == "avito" and "d0.example" in f.domains and f.score >= 0.6,
    ),
]


def test_each_filter_narrows_exactly(store: Store) -> None:
    flags = _varied_flags()
    ids = store.add_flags(flags)
    confirmed = set(ids[::5])
    store.decide(action="confirm", moderator="mod", flag_ids=sorted(confirmed), now=T0 + 999)
    for filters, keep in FILTERS:
        expected = [
            i for i, f in zip(ids, flags, strict=True) if keep(f, "confirmed" if i in confirmed else "open")
        ]
        got = [f.id for f in store.list_flags(FlagQuery(limit=100, **filters)).items]
        assert got == sorted(expected, reverse=True), filters
        assert 0 < len(got) < len(ids), filters  # the filter does narrow


@pytest.mark.parametrize("filters", [{}, {"tenant": "avito"}, {"domain": "d2.example"}])
def test_pagination_visits_every_flag_once(store: Store, filters: dict[str, Any]) -> None:
    ids = store.add_flags(_varied_flags())
    expected = [f.id for f in store.list_flags(FlagQuery(limit=1000, **filters)).items]
    seen: list[int] = []
    before = None
    while True:
        page = store.list_flags(FlagQuery(limit=5, before_id=before, **filters))
        assert len(page.items) <= 5
        seen += [f.id for f in page.items]
        if page.next is None:
            break
        before = page.next
    assert seen == expected and len(set(seen)) == len(seen)
    assert (len(seen) == len(ids)) == (not filters)


def test_list_flags_rejects_zero_limit(store: Store) -> None:
    with pytest.raises(ValueError):
        store.list_flags(FlagQuery(limit=0))


def test_update_flag_verdict_and_rejudging_queries(store: Store) -> None:
    a, b, c = store.add_flags(
        [
            new_flag(domains=["x.example"]),
            new_flag(domains=["x.example", "y.example"]),
            new_flag(domains=["y.example"]),
        ],
        sightings=[
            Sighting("x.example", "avito", "m9", {"chat_id": "c"}, "clean", T0),
            Sighting("x.example", "youla", None, {}, "suspicious", T0 + 5),
            Sighting("y.example", "avito", "m8", {}, "clean", T0 + 6),
        ],
    )
    store.update_flag_verdict(b, "fraud", 1.0, [{"id": "reputation", "category": "reputation"}], "2024.06")
    got = store.get_flag(b)
    assert (got.verdict, got.score, got.reasons, got.rules_version) == (
        "fraud",
        1.0,
        [{"id": "reputation", "category": "reputation"}],
        "2024.06",
    )
    with pytest.raises(NotFound):
        store.update_flag_verdict(999, "fraud", 1.0, [], "x")
    assert [f.id for f in store.flags_with_domain("x.example")] == [b, a]
    store.decide(action="dismiss", moderator="m", flag_ids=[a], now=T0)
    assert [f.id for f in store.flags_with_domain("x.example")] == [b]
    assert [f.id for f in store.flags_with_domain("x.example", status="dismissed")] == [a]
    assert [(s.tenant, s.message_id) for s in store.sightings("x.example", since=T0)] == [
        ("avito", "m9"),
        ("youla", None),
    ]
    assert [s.verdict for s in store.sightings("x.example", since=T0 + 1)] == ["suspicious"]
    assert store.sightings("x.example", since=T0 + 1)[0] == Sighting(
        "x.example", "youla", None, {}, "suspicious", T0 + 5
    )
    assert c  # untouched


# -- decisions ---------------------------------------------------------------------------------


def test_decide_commits_and_bumps_lists_version(store: Store, make_store: Callable[..., Store]) -> None:
    other = make_store()  # another connection, like another worker
    (flag_id,) = store.add_flags([new_flag()])
    v0 = other.lists_version()
    (d,) = store.decide(action="confirm", moderator="alice", note="kit", flag_ids=[flag_id], now=T0 + 60)
    assert (d.flag_id, d.action, d.moderator, d.note, d.domains, d.created_at) == (
        flag_id,
        "confirm",
        "alice",
        "kit",
        ["avito-pay.example"],
        T0 + 60,
    )
    assert other.lists_version() == v0 + 1
    assert other.decisions() == [d]
    flag = other.get_flag(flag_id)
    assert (flag.status, flag.decided_at, flag.decided_by) == ("confirmed", T0 + 60, "alice")
    assert [(s.domain, s.status, s.decision_id, s.flag_id) for s in other.domain_statuses()] == [
        ("avito-pay.example", "deny", d.id, flag_id)
    ]
    store.decide(action="dismiss", moderator="bob", domains=["other.example"], now=T0 + 61)
    assert other.lists_version() == v0 + 2


def test_history_is_append_only_with_reopen(store: Store) -> None:
    (flag_id,) = store.add_flags([new_flag()])
    statuses = []
    for i, action in enumerate(["confirm", "reopen", "dismiss", "reopen"]):
        store.decide(action=action, moderator=f"mod{i}", flag_ids=[flag_id], now=T0 + i)  # type: ignore[arg-type]
        statuses.append(store.get_flag(flag_id).status)
    assert statuses == ["confirmed", "open", "dismissed", "open"]
    history = store.decisions(flag_id=flag_id)
    assert [(d.action, d.moderator, d.created_at) for d in history] == [
        ("confirm", "mod0", T0),
        ("reopen", "mod1", T0 + 1),
        ("dismiss", "mod2", T0 + 2),
        ("reopen", "mod3", T0 + 3),
    ]
    assert [d.id for d in store.decisions(flag_id=flag_id, after_id=history[1].id, limit=1)] == [
        history[2].id
    ]
    assert store.get_flag(flag_id).decided_by == "mod3"


def test_domain_status_follows_the_latest_decision(store: Store) -> None:
    f1, f2 = store.add_flags([new_flag(domains=["a.example", "b.example"]), new_flag(domains=["b.example"])])

    def statuses() -> dict[str, tuple[str, int | None]]:
        return {s.domain: (s.status, s.flag_id) for s in store.domain_statuses()}

    store.decide(action="confirm", moderator="m", flag_ids=[f1], now=T0)
    assert statuses() == {"a.example": ("deny", f1), "b.example": ("deny", f1)}
    store.decide(action="dismiss", moderator="m", flag_ids=[f2], now=T0 + 1)
    assert statuses() == {"a.example": ("deny", f1), "b.example": ("allow", f2)}
    (direct,) = store.decide(action="dismiss", moderator="m", domains=["a.example", "c.example"], now=T0 + 2)
    assert direct.flag_id is None and direct.domains == ["a.example", "c.example"]
    assert statuses() == {
        "a.example": ("allow", None),
        "b.example": ("allow", f2),
        "c.example": ("allow", None),
    }
    store.decide(action="reopen", moderator="m", flag_ids=[f1], now=T0 + 3)
    assert statuses() == {"c.example": ("allow", None)}
    store.decide(action="confirm", moderator="m", domains=["c.example"], now=T0 + 4)
    (status,) = store.domain_statuses()
    assert (status.status, status.moderator, status.decided_at) == ("deny", "m", T0 + 4)
    assert status.decision_id == store.decisions()[-1].id
    assert len(store.decisions()) == 5  # nothing was deleted from the history


def test_decide_on_several_flags_and_domains_in_one_call(store: Store) -> None:
    ids = store.add_flags([new_flag(domains=[f"{i}.example"]) for i in range(3)])
    made = store.decide(
        action="confirm", moderator="m", flag_ids=[*ids, ids[0]], domains=["z.example"], now=T0
    )
    assert [d.flag_id for d in made] == [*ids, None]
    assert store.lists_version() == 1  # one bump per decide call
    assert {s.domain for s in store.domain_statuses()} == {"0.example", "1.example", "2.example", "z.example"}


def test_decide_on_a_missing_flag_writes_nothing(store: Store) -> None:
    (flag_id,) = store.add_flags([new_flag()])
    with pytest.raises(NotFound):
        store.decide(
            action="confirm",
            moderator="m",
            flag_ids=[flag_id, 999_999],
            domains=["x.example"],
            events=[("flag.decided", "avito", {})],
            now=T0,
        )
    assert store.decisions() == [] and store.domain_statuses() == [] and store.events() == []
    assert store.lists_version() == 0 and store.get_flag(flag_id).status == "open"


def test_decide_rejects_bad_calls(store: Store) -> None:
    with pytest.raises(ValueError):
        store.decide(action="delete", moderator="m", domains=["x.example"], now=T0)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        store.decide(action="confirm", moderator="m", now=T0)


def test_decided_flags_for_export(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sql_module, "_EXPORT_PAGE", 2)  # several keyset pages
    ids = store.add_flags([new_flag(message_id=f"m{i}") for i in range(7)])
    store.decide(action="confirm", moderator="m", flag_ids=ids[:3], now=T0 + 1)
    store.decide(action="dismiss", moderator="m", flag_ids=ids[3:5], now=T0 + 2)
    store.decide(action="confirm", moderator="m", flag_ids=[ids[5]], now=T0 + 3)
    store.decide(action="reopen", moderator="m", flag_ids=[ids[5]], now=T0 + 4)
    store.decide(action="confirm", moderator="m", flag_ids=[ids[4]], now=T0 + 5)  # changed its mind
    got = [(f.id, f.status, d.action, d.created_at) for f, d in store.decided_flags()]
    assert got == [
        (ids[0], "confirmed", "confirm", T0 + 1),
        (ids[1], "confirmed", "confirm", T0 + 1),
        (ids[2], "confirmed", "confirm", T0 + 1),
        (ids[3], "dismissed", "dismiss", T0 + 2),
        (ids[4], "confirmed", "confirm", T0 + 5),
    ]
    assert [f.id for f, _ in store.decided_flags(since=T0 + 2)] == [ids[3], ids[4]]


def test_concurrent_decisions_are_all_counted(store: Store, make_store: Callable[..., Store]) -> None:
    ids = store.add_flags([new_flag(domains=[f"{i}.example"]) for i in range(40)])
    stores = [make_store() for _ in range(4)]
    barrier = threading.Barrier(len(stores))
    errors: list[BaseException] = []

    def work(k: int, s: Store) -> None:
        try:
            barrier.wait()
            for flag_id in ids[k::4]:
                s.decide(
                    action="confirm",
                    moderator=f"w{k}",
                    flag_ids=[flag_id],
                    events=[("flag.decided", None, {"flag": flag_id})],
                    now=T0,
                )
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k, s)) for k, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.lists_version() == 40
    decided = store.decisions(limit=1000)
    events = store.events(limit=1000)
    assert sorted(d.flag_id for d in decided) == sorted(ids)
    # ids of decisions and events were taken in commit order: their order agrees
    assert [d.flag_id for d in decided] == [e.payload["flag"] for e in events]


# -- campaigns ---------------------------------------------------------------------------------


def test_campaigns_group_open_flags_by_key(store: Store) -> None:
    ids = store.add_flags(
        [
            new_flag(
                tenant="avito",
                score=0.7,
                campaign_keys=["domain:a.example", "path:avito/pay/<n>"],
                created_at=T0,
            ),
            new_flag(tenant="youla", score=0.9, campaign_keys=["domain:a.example"], created_at=T0 + 10),
            new_flag(
                tenant="avito",
                score=0.8,
                campaign_keys=["domain:a.example", "path:avito/pay/<n>"],
                created_at=T0 + 5,
            ),
            new_flag(tenant="avito", score=0.6, campaign_keys=["kit:abc"], created_at=T0 + 7),
            new_flag(
                tenant="avito", score=0.6, campaign_keys=["kit:abc", "path:avito/pay/<n>"], created_at=T0 + 8
            ),
        ]
    )
    got = {c.key: c for c in store.campaigns()}
    assert list(got) == ["domain:a.example", "path:avito/pay/<n>", "kit:abc"]  # ties: the latest first
    dom = got["domain:a.example"]
    assert (
        dom.kind,
        dom.label,
        dom.flags,
        dom.tenants,
        dom.first_seen,
        dom.last_seen,
        dom.max_score,
        dom.sample_flag_id,
    ) == ("domain", "a.example", 3, 2, T0, T0 + 10, 0.9, ids[2])
    assert [c.key for c in store.campaigns(min_flags=3)] == ["domain:a.example", "path:avito/pay/<n>"]
    assert [c.key for c in store.campaigns(min_flags=4)] == []
    assert [c.key for c in store.campaigns(limit=1)] == ["domain:a.example"]
    assert store.campaign_flag_ids("kit:abc") == [ids[4], ids[3]]
    store.decide(action="confirm", moderator="m", flag_ids=store.campaign_flag_ids("kit:abc"), now=T0 + 20)
    assert "kit:abc" not in {c.key for c in store.campaigns()}
    assert {c.key: c.flags for c in store.campaigns()} == {"domain:a.example": 3, "path:avito/pay/<n>": 2}
    assert [c.key for c in store.campaigns(status="confirmed")] == ["kit:abc"]
    assert store.campaign_flag_ids("kit:abc", status="confirmed") == [ids[4], ids[3]]
    assert store.campaign_flag_ids("kit:abc") == []


# -- events and webhook deliveries ---------------------------------------------------------------


def test_events_feed_order_and_tenant_filter(store: Store) -> None:
    (flag_id,) = store.add_flags([new_flag()])
    store.decide(
        action="confirm",
        moderator="m",
        flag_ids=[flag_id],
        now=T0,
        events=[("flag.decided", "avito", {"flag_id": flag_id}), ("domain.confirmed", None, {"d": 1})],
    )
    ids = store.add_events(
        [("messages.rejudged", "youla", {"n": 2}), ("messages.rejudged", "avito", {"n": 3})], now=T0 + 1
    )
    feed = store.events()
    assert [(e.kind, e.tenant) for e in feed] == [
        ("flag.decided", "avito"),
        ("domain.confirmed", None),
        ("messages.rejudged", "youla"),
        ("messages.rejudged", "avito"),
    ]
    assert [e.id for e in feed] == sorted(e.id for e in feed) and [e.id for e in feed[2:]] == ids
    assert feed[0].payload == {"flag_id": flag_id} and feed[0].created_at == T0
    assert [e.kind for e in store.events(tenant="avito")] == [
        "flag.decided",
        "domain.confirmed",
        "messages.rejudged",
    ]
    assert [e.payload for e in store.events(tenant="youla")] == [{"d": 1}, {"n": 2}]
    assert [e.id for e in store.events(after_id=feed[1].id, limit=1)] == [feed[2].id]
    assert store.add_events([], now=T0) == []


def test_deliveries_due_done_failed_and_given_up(store: Store) -> None:
    (e1, e2) = store.add_events([("a", None, {"x": 1}), ("b", "avito", {"x": 2})], now=T0)
    assert store.due_deliveries(now=T0 - 1) == []
    due = store.due_deliveries(now=T0)
    assert sorted((d.event_id, d.endpoint) for d in due) == [(e, ep) for e in (e1, e2) for ep in ENDPOINTS]
    assert all(d.attempts == 0 and d.next_at == T0 for d in due)
    first = {(d.event_id, d.endpoint): d for d in due}
    assert first[e2, "hooks-a"].event.payload == {"x": 2} and first[e2, "hooks-a"].event.tenant == "avito"
    assert len(store.due_deliveries(now=T0, limit=3)) == 3

    store.delivery_done(first[e1, "hooks-a"].id, now=T0 + 1)
    store.delivery_failed(first[e1, "hooks-b"].id, error="HTTP 503\n" + "x" * 5000, next_at=T0 + 30)
    store.delivery_failed(first[e2, "hooks-a"].id, error="timeout", next_at=None)  # gives up
    left = {(d.event_id, d.endpoint): d for d in store.due_deliveries(now=T0 + 10)}
    assert set(left) == {(e2, "hooks-b")}
    retry = {(d.event_id, d.endpoint): d for d in store.due_deliveries(now=T0 + 30)}
    assert set(retry) == {(e1, "hooks-b"), (e2, "hooks-b")} and retry[e1, "hooks-b"].attempts == 1
    assert retry[e1, "hooks-b"].next_at == T0 + 30
    assert (e2, "hooks-a") not in {(d.event_id, d.endpoint) for d in store.due_deliveries(now=T0 + 10**9)}
    for missing in (
        lambda: store.delivery_done(10**9, now=T0),
        lambda: store.delivery_failed(10**9, error="", next_at=None),
    ):
        with pytest.raises(NotFound):
            missing()


def test_decide_events_are_queued_for_every_endpoint(store: Store) -> None:
    store.decide(
        action="confirm",
        moderator="m",
        domains=["x.example"],
        events=[("domain.confirmed", None, {})],
        now=T0,
    )
    (event,) = store.events()
    assert sorted(d.endpoint for d in store.due_deliveries(now=T0) if d.event_id == event.id) == list(
        ENDPOINTS
    )


# -- users and tokens --------------------------------------------------------------------------


def test_users(store: Store) -> None:
    admin = store.add_user("root", "admin", "scrypt$hash1", now=T0)
    assert (admin.name, admin.role, admin.created_at, admin.disabled) == ("root", "admin", T0, False)
    store.add_user("ann", "viewer", "scrypt$hash2", now=T0 + 1)
    with pytest.raises(StoreError, match="exists"):
        store.add_user("ann", "moderator", "x", now=T0)
    with pytest.raises(ValueError):
        store.add_user("eve", "owner", "x", now=T0)  # type: ignore[arg-type]
    assert [u.name for u in store.list_users()] == ["ann", "root"]
    assert store.get_user("root") == (admin, "scrypt$hash1")
    store.set_password("root", "scrypt$hash3")
    assert store.get_user("root")[1] == "scrypt$hash3"
    store.set_user_disabled("ann", True)
    assert store.get_user("ann")[0].disabled is True
    for call in (
        lambda: store.get_user("nobody"),
        lambda: store.set_password("nobody", "x"),
        lambda: store.set_user_disabled("nobody", True),
    ):
        with pytest.raises(NotFound):
            call()


def test_tokens_expiry_and_disabled_users(store: Store) -> None:
    store.add_user("mod", "moderator", "h", now=T0)
    store.add_token("s" * 64, "mod", kind="session", expires_at=T0 + 100, now=T0)
    store.add_token("k" * 64, "mod", kind="key", expires_at=None, now=T0)
    assert store.user_for_token("s" * 64, now=T0 + 99).name == "mod"  # type: ignore[union-attr]
    assert store.user_for_token("s" * 64, now=T0 + 100) is None  # expired
    assert store.user_for_token("k" * 64, now=T0 + 10**6).role == "moderator"  # type: ignore[union-attr]
    assert store.user_for_token("unknown", now=T0) is None
    store.set_user_disabled("mod", True)
    assert store.user_for_token("k" * 64, now=T0) is None
    store.set_user_disabled("mod", False)
    assert store.user_for_token("k" * 64, now=T0) is not None
    store.drop_token("k" * 64)
    store.drop_token("k" * 64)  # dropping twice is fine (logout twice)
    assert store.user_for_token("k" * 64, now=T0) is None
    with pytest.raises(NotFound):
        store.add_token("t" * 64, "nobody", kind="session", expires_at=None, now=T0)
    with pytest.raises(ValueError):
        store.add_token("t" * 64, "mod", kind="cookie", expires_at=None, now=T0)


# -- retention ---------------------------------------------------------------------------------


def test_purge_blanks_old_personal_data_and_keeps_decisions(store: Store) -> None:
    old, new = store.add_flags(
        [new_flag(created_at=T0), new_flag(created_at=T0 + 1000)],
        sightings=[
            Sighting("a.example", "avito", "m1", {"sender_id": "u"}, "clean", T0),
            Sighting("a.example", "avito", "m2", {"sender_id": "u"}, "clean", T0 + 1000),
        ],
    )
    store.decide(action="confirm", moderator="m", flag_ids=[old], now=T0 + 10)
    store.add_user("mod", "moderator", "h", now=T0)
    store.add_token("old", "mod", kind="session", expires_at=T0 + 100, now=T0)
    store.add_token("live", "mod", kind="session", expires_at=T0 + 5000, now=T0)
    store.add_token("key", "mod", kind="key", expires_at=T0 + 100, now=T0)
    counts = store.purge(before=T0 + 500, now=T0 + 2000)
    assert counts == {"flags": 1, "sightings": 1, "sessions": 1}
    purged, kept = store.get_flag(old), store.get_flag(new)
    assert purged.text is None and "sender_id" not in purged.context
    assert purged.context == {"chat_id": "c-9", "listing_id": "l-7", "nested": {"a": [1, 2.5, None]}}
    assert (purged.status, purged.domains, purged.urls) == (
        "confirmed",
        ["avito-pay.example"],
        new_flag().urls,
    )
    assert as_new(kept) == new_flag(created_at=T0 + 1000)
    assert [s.message_id for s in store.sightings("a.example", since=0)] == ["m2"]
    assert len(store.decisions()) == 1 and [s.domain for s in store.domain_statuses()] == [
        "avito-pay.example"
    ]
    assert store.user_for_token("live", now=T0 + 2000) is not None
    assert store.purge(before=T0 + 500, now=T0 + 2000) == {"flags": 0, "sightings": 0, "sessions": 0}


# -- migrations, life cycle and errors -----------------------------------------------------------


def test_migrate_is_idempotent(make_store: Callable[..., Store]) -> None:
    fresh = make_store(migrate=False)
    assert fresh.applied_migrations() == []
    assert fresh.migrate() == ALL_MIGRATIONS
    assert fresh.migrate() == []
    assert fresh.applied_migrations() == ALL_MIGRATIONS
    assert make_store(migrate=False).migrate() == []


def test_migrate_from_concurrent_threads(make_store: Callable[..., Store]) -> None:
    stores = [make_store(migrate=False) for _ in range(4)]
    barrier = threading.Barrier(len(stores))
    results: list[list[str] | BaseException] = []

    def run(s: Store) -> None:
        barrier.wait()
        try:
            results.append(s.migrate())
        except Exception as e:  # noqa: BLE001 - reported below
            results.append(e)

    threads = [threading.Thread(target=run, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(name for r in results for name in r) == ALL_MIGRATIONS  # type: ignore[union-attr]
    assert stores[0].applied_migrations() == ALL_MIGRATIONS and stores[0].lists_version() == 0


def _python(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        cwd=ROOT,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_migrate_from_concurrent_processes(store_url: str, make_store: Callable[..., Store]) -> None:
    code = """
        import json, sys
        from phishguard.moderation.store import open_store
        s = open_store(sys.argv[1])
        print(json.dumps(s.migrate()))
        s.close()
    """
    procs = [_python(code, store_url) for _ in range(3)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err for _, err in outs]
    assert sorted(n for out, _ in outs for n in json.loads(out)) == ALL_MIGRATIONS
    assert make_store(migrate=False).applied_migrations() == ALL_MIGRATIONS


def test_acknowledged_decision_survives_a_killed_process(
    store: Store, store_url: str, make_store: Callable[..., Store]
) -> None:
    (flag_id,) = store.add_flags([new_flag()])
    store.close()
    code = """
        import os, sys
        from phishguard.moderation.store import open_store
        s = open_store(sys.argv[1], webhook_endpoints=["hooks-a"])
        (d,) = s.decide(action="confirm", moderator="m", flag_ids=[int(sys.argv[2])],
                        events=[("flag.decided", None, {})], now=1.0)
        print(d.id, flush=True)
        os._exit(0)  # no close, no commit of anything else, no atexit
    """
    proc = _python(code, store_url, str(flag_id))
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    reopened = make_store(migrate=False)
    (decision,) = reopened.decisions()
    assert decision.id == int(out) and reopened.get_flag(flag_id).status == "confirmed"
    assert reopened.lists_version() == 1 and [s.domain for s in reopened.domain_statuses()] == [
        "avito-pay.example"
    ]
    assert [d.endpoint for d in reopened.due_deliveries(now=2.0)] == ["hooks-a"]


def test_ping_and_close(make_store: Callable[..., Store]) -> None:
    s = make_store()
    s.ping()
    s.close()
    s.close()  # twice is fine
    with pytest.raises(StoreError, match="closed"):
        s.ping()


def test_unmigrated_store_says_so(make_store: Callable[..., Store]) -> None:
    with pytest.raises(StoreError) as info:
        make_store(migrate=False).lists_version()
    assert "\n" not in str(info.value)


# -- opening: every failure is a StoreError with one line ---------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _open_error(url: str) -> str:
    with pytest.raises(StoreError) as info:
        open_store(url).close()
    message = str(info.value)
    assert message and "\n" not in message, message
    return message


def test_bad_urls_are_refused() -> None:
    assert "unsupported database URL" in _open_error("mysql://user@db/x")
    assert "unsupported database URL" in _open_error("phishguard.db")
    assert "bad SQLite URL" in _open_error("sqlite://relative.db")


def test_missing_directory(tmp_path: Path) -> None:
    message = _open_error(f"sqlite:///{tmp_path}/missing/sub/moderation.db")
    assert "does not exist" in message and "missing/sub" in message
    assert not (tmp_path / "missing").exists()


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    (tmp_path / "junk.db").write_bytes(b"not a database" * 1000)
    assert "not a database" in _open_error(f"sqlite:///{tmp_path}/junk.db")


def test_relative_sqlite_path_is_under_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with open_store("sqlite:///data.db") as s:
        assert s.migrate() == ALL_MIGRATIONS
    assert (tmp_path / "data.db").is_file()


def test_unreachable_postgres(tmp_path: Path) -> None:
    pytest.importorskip("psycopg")
    port = _free_port()
    message = _open_error(f"postgres://bob:s3cret@127.0.0.1:{port}/db?connect_timeout=2")
    assert "cannot connect" in message and "s3cret" not in message and "bob:***@" in message


def test_newest_first_history_and_the_nearest_newer_flag(store):
    ids = store.add_flags([new_flag(message_id=f"p-{i}") for i in range(5)])
    for fid in ids:
        store.decide(action="confirm", moderator="anna", flag_ids=[fid], now=1000.0 + fid)
    newest = store.decisions(newest_first=True, limit=2)
    assert [d.flag_id for d in newest] == [ids[4], ids[3]]
    older = store.decisions(newest_first=True, before_id=newest[-1].id, limit=10)
    assert [d.flag_id for d in older] == [ids[2], ids[1], ids[0]]
    assert [f.id for f in store.list_flags(FlagQuery(after_id=ids[1], limit=2)).items] == [ids[2], ids[3]]
