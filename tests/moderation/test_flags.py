"""What a flag keeps of a verdict: text per store_text, evidence redacted with it, campaign keys."""

from __future__ import annotations

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
