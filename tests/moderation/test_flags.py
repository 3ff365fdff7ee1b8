"""What a flag keeps of a verdict (text per store_text, evidence redacted with it, campaign keys), and
when the writer stores it (moderation.write_idle_chunk)."""

from __future__ import annotations

import asyncio

from phishguard.moderation.flags import campaign_keys, new_flag

VERDICT = {
    "verdict": "suspicious", "score": 0.6, "models": {}, "rules_version": "r",
    "reasons": [{"rule": "offplatform.messenger", "category": "off_platform", "evidence": "WhatsApp +7 912 345-67-89"}],
    "urls": [],
}
TEXT = "пишите в WhatsApp +7 912 345-67-89, карта 2200 1234 5678 9010"


def flag(mode: str):
    return new_flag(VERDICT, tenant="t", text=TEXT, message_id=1, context=None, store_text=mode, now=0.0)


def test_redacted_and_none_drop_numbers_from_the_evidence_too():
    assert flag("full").reasons[0]["evidence"] == "WhatsApp +7 912 345-67-89"
    for mode in ("redacted", "none"):
        f = flag(mode)
        assert f.reasons[0]["evidence"] == "WhatsApp [phone]"
        assert "345-67-89" not in repr(f) and "9010" not in repr(f)
    assert flag("none").text is None and flag("redacted").text == "пишите в WhatsApp [phone], карта [card]"


def test_campaign_keys_group_a_kit_across_domains():
    def verdict(url: str, host: str, domain: str) -> dict:
        return {"urls": [{"url": url, "host": host, "registered_domain": domain, "brand": "olx", "official": False}],
                "reasons": []}

    a = campaign_keys(verdict("https://olx-pl.pay-safe.shop/oferta/8812/pay", "olx-pl.pay-safe.shop", "pay-safe.shop"))
    b = campaign_keys(verdict("https://olx-pl.deliverysafe.top/oferta/97/pay", "olx-pl.deliverysafe.top", "deliverysafe.top"))
    assert a[0] == "domain:pay-safe.shop" and b[0] == "domain:deliverysafe.top"
    assert a[1] == b[1] == "path:olx|olx-pl.<domain>|/oferta/<n>/pay"  # the same kit on another domain and TLD
    official = {"urls": [{"url": "https://olx.pl/d/oferta/1", "host": "olx.pl", "registered_domain": "olx.pl",
                          "brand": "olx", "official": True}], "reasons": []}
    assert campaign_keys(official) == []


async def test_queued_flags_are_invisible_to_the_garbage_collector_and_stored_whole():
    """A queued flag is a tuple of strings and numbers (young collections of a busy worker do not walk
    it); what the store gets from it is the flag and sightings record() used to build itself."""
    import asyncio
    import gc

    from phishguard.moderation.flags import sightings
    from phishguard.moderation.runtime import Moderation
    from phishguard.moderation.store import open_store
    from phishguard.moderation.store.base import FlagQuery
    from phishguard.settings import Settings

    verdict = {**VERDICT, "verdict": "fraud", "urls": [
        {"url": "https://avito-pay.ru/pay/1", "host": "avito-pay.ru", "registered_domain": "avito-pay.ru",
         "brand": "avito", "official": False}]}  # fmt: skip
    context = {"chat_id": "чат-1", "n": 2**70}
    settings = Settings(moderation={"store_text": "redacted"})  # the store of tests/conftest.py (a temporary file)
    moderation = Moderation(settings, lambda: None)
    await moderation.start()
    moderation._tasks[0].cancel()  # hold the writer: look at the queue first
    moderation._tasks = moderation._tasks[1:]
    moderation.record(verdict, tenant="acme", text=TEXT, message_id=7, context=context)
    (queued,) = list(moderation._queue._queue)  # type: ignore[attr-defined]
    gc.collect()
    assert not gc.is_tracked(queued)
    moderation._tasks.insert(0, asyncio.create_task(moderation._writer()))
    await moderation.stop()

    store = open_store(settings.database_url)
    (stored,) = store.list_flags(FlagQuery(limit=5)).items
    expected = new_flag(verdict, tenant="acme", text=TEXT, message_id=7, context=context, store_text="redacted", now=0.0)
    for field in ("tenant", "message_id", "verdict", "text", "context", "reasons", "urls", "domains", "campaign_keys"):
        assert getattr(stored, field) == getattr(expected, field), field
    (seen,) = store.sightings("avito-pay.ru", since=0.0)
    (want,) = sightings(verdict, tenant="acme", message_id="7", context=context, now=0.0)
    assert (seen.tenant, seen.message_id, seen.context, seen.verdict) == (want.tenant, want.message_id, want.context, want.verdict)
    store.close()


# ---------------------------------------------------------------- the writer waits for a quiet worker (#7)

FRAUD = {**VERDICT, "verdict": "fraud"}


async def _busy_writer(**moderation):
    """A started Moderation whose writer waits for a quiet worker, the worker's in-flight counter with one
    request in hand, five flags recorded, and the sizes of the store writes (appended as they happen)."""
    from phishguard.moderation.runtime import Moderation
    from phishguard.service.limits import InFlight
    from phishguard.settings import Settings

    in_flight = InFlight(10)
    m = Moderation(Settings(moderation={"write_linger_s": 0.01, **moderation}), lambda: None, quiet=in_flight)
    await m.start()
    writes: list[int] = []
    add_flags = m._store.add_flags

    def counting(flags, seen=()):
        writes.append(len(flags))
        return add_flags(flags, seen)

    m._store.add_flags = counting
    assert in_flight.enter()  # a request in hand
    for i in range(5):
        m.record(FRAUD, tenant="t", text=TEXT, message_id=i, context=None)
    return m, writes, in_flight


async def _until(condition, seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("timed out")


async def test_the_writer_writes_between_requests_a_chunk_at_a_time():
    m, writes, in_flight = await _busy_writer(write_idle_chunk=2, write_idle_wait_s=30)
    await asyncio.sleep(0.3)
    assert writes == []  # nothing written beside the request
    in_flight.leave()  # the worker is idle: the flags go in chunks of write_idle_chunk
    await _until(lambda: sum(writes) == 5)
    assert writes == [2, 2, 1]
    await m.stop()


async def test_a_worker_that_is_never_idle_still_gets_its_flags_written_after_the_wait():
    t0 = asyncio.get_running_loop().time()
    m, writes, _ = await _busy_writer(write_idle_chunk=2, write_idle_wait_s=0.3)  # the request never ends
    await _until(lambda: sum(writes) == 5)
    assert writes == [5]  # all at once, as a writer that does not wait
    assert 0.25 <= asyncio.get_running_loop().time() - t0 < 3.0
    await m.stop()


async def test_stopping_flushes_at_once_even_when_the_worker_is_busy():
    m, writes, _ = await _busy_writer(write_idle_chunk=2, write_idle_wait_s=60)
    await asyncio.sleep(0.1)  # the writer is waiting for a quiet moment
    t0 = asyncio.get_running_loop().time()
    await m.stop()
    assert sum(writes) == 5 and asyncio.get_running_loop().time() - t0 < 5.0


async def test_write_idle_chunk_0_the_default_writes_whenever_flags_are_ready():
    from phishguard.moderation.config import ModerationSettings

    assert ModerationSettings().write_idle_chunk == 0
    m, writes, _ = await _busy_writer(write_idle_wait_s=60)
    await _until(lambda: sum(writes) == 5, seconds=2.0)
    assert writes == [5]
    await m.stop()
