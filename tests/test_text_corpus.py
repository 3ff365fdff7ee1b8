"""Recall and false positives of the text rules alone, on the project's chat corpus and on real chat.

"Flagged" means: the findings of the text rules alone (no links, no models) combine to ``suspicious``
or ``fraud``. Thresholds are set a little below what was measured when the rules were written
(docs/text_rules.md has the figures), so a regression fails while small wording changes do not.
"""

from __future__ import annotations

import csv
import gzip
import random
from collections import Counter
from pathlib import Path

import pytest

from phishguard.normalize import LATIN_TO_CYRILLIC, normalize_text
from phishguard.ruleset import MessageView
from phishguard.ruleset.engine import run_text_rules
from phishguard.verdict import combine

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
CORPUS = ROOT / "tests" / "data" / "chat_corpus"
SCENARIOS = {"receive_money", "courier", "refund", "support_bot", "card_balance", "code_3ds", "off_platform"}

MIN_RECALL = 0.95  # measured 0.968 (300/310; 5 of the misses are link-only messages with no text tell)
MIN_RECALL_OBFUSCATED = 0.93  # measured 0.96
MAX_FP = 0.01  # measured 0/345
MAX_REAL_HAM_FP = 0.001  # measured 0/25,783
MIN_RECALL_HOLDOUT = 0.8  # measured 34/40 on holdout.tsv, written after the rules were frozen
MAX_FP_HOLDOUT = 0.025  # measured 0/40


def read_tsv(path: Path) -> list[dict[str, str]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


SCAM = read_tsv(CORPUS / "scam.tsv")
LEGIT = read_tsv(CORPUS / "legit.tsv")


def flagged(scanner, text: str) -> bool:
    findings = run_text_rules(scanner.ruleset, MessageView(text, normalize_text(text)))
    return combine(findings, scanner.policy).verdict != "safe"


def rate(scanner, texts: list[str]) -> float:
    return sum(flagged(scanner, t) for t in texts) / len(texts)


_LOOKALIKE = {cyr: lat for lat, cyr in LATIN_TO_CYRILLIC.items() if lat in "aceopxy"}


def obfuscate(text: str, rng: random.Random) -> str:
    """What scammers do to dodge filters: Latin look-alikes in Cyrillic words, zero-width characters,
    random capitals. Deterministic for a given ``rng``."""
    out = []
    for ch in text:
        low = ch.lower()
        if low in _LOOKALIKE and rng.random() < 0.3:
            ch = _LOOKALIKE[low] if ch == low else _LOOKALIKE[low].upper()
        elif ch.isalpha() and rng.random() < 0.05:
            ch = ch.swapcase()
        out.append(ch)
        if ch.isalpha() and rng.random() < 0.05:
            out.append("\u200b")
    return "".join(out)


# --------------------------------------------------------------------------- the corpus itself


def test_corpus_is_big_varied_and_cleanly_labelled():
    assert len(SCAM) >= 300 and len(LEGIT) >= 300
    assert {r["label"] for r in SCAM} == {"scam"} and {r["label"] for r in LEGIT} == {"legit"}
    assert SCENARIOS <= {r["scenario"] for r in SCAM}
    langs = Counter(r["lang"] for r in SCAM + LEGIT)
    assert langs["ru"] >= 300 and langs["en"] >= 150 and langs["uk"] >= 20 and langs["pl"] >= 20
    texts = [r["text"] for r in SCAM + LEGIT]
    assert len(set(texts)) == len(texts), "duplicate messages"
    assert all(t.strip() and "\t" not in t for t in texts)


# --------------------------------------------------------------------------- recall and false positives


def test_recall_on_scam(scanner):
    missed = [r["text"] for r in SCAM if not flagged(scanner, r["text"])]
    recall = 1 - len(missed) / len(SCAM)
    assert recall >= MIN_RECALL, f"recall {recall:.3f}; missed: {missed}"


@pytest.mark.parametrize("scenario", sorted(SCENARIOS | {"card_data", "debit", "safe_deal"}))
def test_every_scenario_is_caught(scanner, scenario):
    texts = [r["text"] for r in SCAM if r["scenario"] == scenario]
    assert rate(scanner, texts) >= 0.85, scenario


def test_false_positives_on_legit(scanner):
    fps = [r["text"] for r in LEGIT if flagged(scanner, r["text"])]
    assert len(fps) / len(LEGIT) <= MAX_FP, fps


def test_held_out_messages(scanner):
    """holdout.tsv was written after the rules were frozen and is never used to tune them."""
    hold = read_tsv(CORPUS / "holdout.tsv")
    assert rate(scanner, [r["text"] for r in hold if r["label"] == "scam"]) >= MIN_RECALL_HOLDOUT
    assert rate(scanner, [r["text"] for r in hold if r["label"] == "legit"]) <= MAX_FP_HOLDOUT


def test_obfuscation_does_not_hide_scam_nor_create_false_positives(scanner):
    rng = random.Random(4)
    scam = [obfuscate(r["text"], rng) for r in SCAM]
    legit = [obfuscate(r["text"], rng) for r in LEGIT]
    assert rate(scanner, scam) >= MIN_RECALL_OBFUSCATED
    assert rate(scanner, legit) <= MAX_FP


# --------------------------------------------------------------------------- real chat (shared data)


real_data = pytest.mark.skipif(
    not SHARED_DATA.is_dir(),
    reason=f"{SHARED_DATA} is absent (a fresh clone has no shared data; CI has it)",
)


@real_data
@pytest.mark.slow
def test_real_ham_is_almost_never_flagged(scanner):
    ham = [r["text"] for r in read_tsv(SHARED_DATA / "text" / "stankin_chat.tsv.gz") if r["label"] == "ham"]
    ham += [r["text"] for r in read_tsv(SHARED_DATA / "text" / "tg_spam_samples.tsv") if r["label"] == "ham"]
    assert len(ham) > 25_000
    fps = [t for t in ham if flagged(scanner, t)]
    assert len(fps) / len(ham) <= MAX_REAL_HAM_FP, fps[:20]


@real_data
def test_real_spam_is_not_made_fraud_by_text_rules(scanner):
    spam = [r["text"] for r in read_tsv(SHARED_DATA / "text" / "tg_spam_samples.tsv") if r["label"] == "spam"]
    frauds = []
    for t in spam:
        findings = run_text_rules(scanner.ruleset, MessageView(t, normalize_text(t)))
        if combine(findings, scanner.policy).verdict == "fraud":
            frauds.append(t)
    assert not frauds, frauds[:5]
