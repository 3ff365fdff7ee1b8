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
