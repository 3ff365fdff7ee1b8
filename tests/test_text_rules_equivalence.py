"""The ``near`` matcher against a plain reference implementation of its semantics (issue #4, speed work).

``phishguard.ruleset.text_matchers`` is written for speed: per-chunk memoised words, features and
sentence ends, a gate memo that decides which rules and phrases can match, a word scan limited to the
features those rules use, the window search unrolled for two and three slots, evidence offsets from
running sums of chunk sizes. The reference below is the slow, obvious form of the same rules — every word against every pattern (``WordPattern.matches``), the sentence split
as documented, ``itertools.product`` over each slot's candidates nearest first — and every shipped
``near`` rule must give the same hits (same evidence, so the same window) on every message of the chat
corpus, on 200-character joins of them (the speed benchmark's shape), on hand-made edge cases, and on
random word salads.
"""

from __future__ import annotations

import csv
import random
import re
from itertools import product
from pathlib import Path
from typing import ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phishguard.normalize import normalize_text
from phishguard.ruleset import MessageView
from phishguard.ruleset.text_matchers import NearParams, parse_word

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "data" / "chat_corpus"

TOKEN = re.compile(r"[^\W_]+")
SENTENCE_END = re.compile(r"([!?;\n]+|\.(?=\s))")


_MATCHED: dict[str, frozenset] = {}


class Reference:
    """``near`` as documented, written for clarity only."""

    patterns: ClassVar[set] = set()  # every word pattern of every reference rule

    def __init__(self, p: NearParams):
        self.p = p
        self.slots = [self.terms(slot) for slot in p.slots]
        self.unless = self.terms(p.unless)

    def terms(self, specs: list[str]) -> dict:
        """First word pattern -> the terms (tuples of word patterns) starting with it."""
        out: dict = {}
        for spec in specs:
            term = tuple(parse_word(w) for w in spec.split())
            Reference.patterns.update(term)
            out.setdefault(term[0], []).append(term)
        return out

    @staticmethod
    def matched(word: str) -> frozenset:
        """Every word pattern ``word`` matches, by trying them all (remembered per word)."""
        got = _MATCHED.get(word)
        if got is None:
            got = _MATCHED[word] = frozenset(pat for pat in Reference.patterns if pat.matches(word))
        return got

    @staticmethod
    def words(text: str) -> tuple[list[str], list[int], list[tuple[int, int]]]:
        parts = SENTENCE_END.split(text)
        words, sentences, n = [], [], 0
        for k in range(0, len(parts), 2):
            found = TOKEN.findall(parts[k])
            words += found
            sentences += [n] * len(found)
            abbreviation = bool(found) and found[-1].isalpha() and len(found[-1]) <= 3
            if k + 1 < len(parts) and (parts[k + 1] != "." or not abbreviation):
                n += 1
        return words, sentences, [m.span() for m in TOKEN.finditer(text)]

    def occurrences(self, terms: dict, words: list[str]) -> list[tuple[int, int]]:
        matched = [self.matched(w) for w in words]
        found = set()
        for i in range(len(words)):
            for pat in matched[i]:
                for term in terms.get(pat, ()):
                    if i + len(term) <= len(words) and all(term[j] in matched[i + j] for j in range(1, len(term))):
                        found.add((i, i + len(term) - 1))
        return sorted(found)

    def evidence(self, msg: MessageView) -> list[str]:
        p = self.p
        words, sentences, spans = self.words(msg.norm.text)
        occ = [self.occurrences(slot, words) for slot in self.slots]
        if not all(occ):
            return []
        guards = self.occurrences(self.unless, words)
        pivot = min(range(len(occ)), key=lambda k: len(occ[k]))  # the rarest slot, the first of equals
        for ps, pe in occ[pivot]:
            near = []
            for k, slot in enumerate(occ):
                if k == pivot:
                    near.append([(ps, pe)])
                else:  # occurrences that can share a window with the pivot, nearest first (stable)
                    cands = [o for o in slot if o[0] >= pe - p.within + 1 and o[1] <= ps + p.within - 1]
                    near.append(sorted(cands, key=lambda o: abs(o[0] - ps)))
            for combo in product(*near):
                lo, hi = min(o[0] for o in combo), max(o[1] for o in combo)
                if hi - lo + 1 > p.within:
                    continue
                ranked = combo if p.ordered else sorted(combo)
                if any(ranked[i][1] >= ranked[i + 1][0] for i in range(len(ranked) - 1)):
                    continue  # overlapping (or out of order)
                if p.sentence and sentences[lo] != sentences[hi]:
                    continue
                w = p.unless_within
                if any(gs <= hi + w and ge >= lo - w for gs, ge in guards):
                    continue
                return [msg.norm.original_slice(spans[lo][0], spans[hi][1])]
        return []


def near_rules(scanner):
    return [r for r in scanner.ruleset.text_rules if r.doc.matcher_name == "near"]


def corpus_messages() -> list[str]:
    texts = []
    for path in sorted(CORPUS.glob("*.tsv")):
        with path.open(encoding="utf-8", newline="") as f:
            texts += [r["text"] for r in csv.DictReader(f, delimiter="\t")]
    rnd = random.Random(4)
    joined = []
    for _ in range(600):
        s = ""
        while len(s) < 200:
            s += " " + rnd.choice(texts)
        joined.append(s[:200])
    return texts + joined


EDGE_CASES = [
    "Сообщите баланс карты. Какой cvv? ул. Ленина д. 5. Пришлите код из смс!!! банк",
    "напишите... баланс карты", "да... баланс карты укажите", "руб. . баланс карты укажите",
    "укажите баланс\nкарты", "укажите баланс;карты", "укажите баланс!?карты", "укажите баланс.карты",
    "укажите_баланс_карты", "a.b. c. укажите: баланс (карты).", "не меньше не менее баланс карты не меньше",
    "пришлите код код код из смс смс смс банк банк", "send send the cvv cvv code code", "",
    "   ", "...", "укажите укажите укажите баланс баланс карты карты карты карты",
]


@pytest.fixture(scope="module")
def rules(scanner):
    found = near_rules(scanner)
    assert len(found) >= 13
    return [(r.id, r.fn, Reference(r.fn.p)) for r in found]


def check(rules, text: str) -> None:
    for rule_id, fn, ref in rules:
        msg = MessageView(text, normalize_text(text))
        got = [h.evidence for h in fn(msg)]
        assert got == ref.evidence(msg), (rule_id, text)


def test_shipped_near_rules_match_the_reference_on_the_corpus(rules):
    texts = corpus_messages() + EDGE_CASES
    fired = 0
    for text in texts:
        msg = MessageView(text, normalize_text(text))  # one view shared by all rules, as in a scan
        for rule_id, fn, ref in rules:
            got = [h.evidence for h in fn(msg)]
            fired += bool(got)
            assert got == ref.evidence(msg), (rule_id, text)
    assert fired > 1000  # the comparison covers many real matches, not only misses


VOCAB = ["укажите", "баланс", "карты", "сумма", "не", "меньше", "менее", "cvv", "код", "из", "смс", "банк", "пришлите", "send", "the", "code", "card", "balance", "никому", "не", "сообщайте", "переведу", "руб", "ул", "да", "at", "least", "how", "much"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(VOCAB), st.sampled_from([" ", " ", ", ", ". ", "! ", "\n", "... ", "."])),
                max_size=30))
def test_near_rules_match_the_reference_on_word_salad(rules, pieces):
    check(rules, "".join(w + sep for w, sep in pieces))


def test_random_near_rules_match_the_reference():
    """Rules of 1 to 5 slots, ordered or not, across sentences or not, with phrases and guards, on word
    salads with runs of spaces and newlines (the shipped rules have 2 or 3 slots and none is ordered)."""
    import test_text_rules_equivalence as me  # the reference's word cache must forget other rules' patterns

    from phishguard.ruleset.text_matchers import _build_near

    rnd = random.Random(7)
    terms = ["укажите", "баланс*", "карт(ы|е)", "не меньше", "cvv", "код", "из смс", "смс", "банк", "send",
             "the code", "code", "card", "никому", "не", "at least", "how much", "руб"]
    seps = [" ", " ", ", ", ". ", "! ", "\n", "... ", ".", "  "]
    fired = 0
    for _ in range(120):
        p = NearParams(slots=[rnd.sample(terms, rnd.randint(1, 3)) for _ in range(rnd.randint(1, 5))],
                       within=rnd.randint(1, 12), ordered=rnd.random() < 0.4, sentence=rnd.random() < 0.7,
                       unless=rnd.sample(terms, rnd.randint(0, 2)), unless_within=rnd.randint(0, 4))
        fn, ref = _build_near(p, None), Reference(p)
        me._MATCHED.clear()
        for _ in range(30):
            text = "".join(rnd.choice(VOCAB) + rnd.choice(seps) for _ in range(rnd.randint(0, 25)))
            msg = MessageView(text, normalize_text(text))
            expected = ref.evidence(msg)
            fired += bool(expected)
            assert [h.evidence for h in fn(msg)] == expected, (p, text)
    assert fired > 200


#: Texts off the common path of the evidence: more words than the shared occurrence pairs (512), a word too
#: long for the packed places (over 65,535 characters), white space other than single spaces.
LONG_CASES = [
    "сообщите баланс карты " * 200,
    "ok " * 600 + "сообщите баланс карты",
    "x" * 70_000 + " сообщите баланс карты",
    "сообщите " + "б" * 70_000 + " баланс карты",
    "сообщите\tбаланс\tкарты", " сообщите баланс карты ", "сообщите  баланс карты", "  сообщите баланс карты",
    "сообщите баланс карты\u00a0", "\u00a0сообщите баланс карты", "сообщите баланс\r\nкарты", "Сообщите БАЛАНС кaрты ё",
]


def test_the_engine_gives_the_reference_findings(scanner, rules):
    """The engine's path (gate, plan, one batch per run of ``near`` rules, places noted by the scan) gives
    each rule's reference evidence; the scanner's model rules split the ``near`` rules into two runs."""
    from phishguard.ruleset.engine import run_text_rules

    ref = {rule_id: r for rule_id, _, r in rules}
    fired = 0
    for text in corpus_messages() + EDGE_CASES + LONG_CASES:
        want = {}
        for rule_id, r in ref.items():
            found = r.evidence(MessageView(text, normalize_text(text)))
            if found:
                want[rule_id] = found[0]
        got = {f.rule: f.evidence for f in run_text_rules(scanner.ruleset, scanner.views(text)[0]) if f.rule in ref}
        assert got == want, text[:200]
        fired += len(got)
    assert fired > 1000


def test_a_rule_failing_in_a_batch_is_reported_alone(scanner, monkeypatch):
    """When a batch raises, its rules run one by one: the failing ones become the degraded finding, the
    others still give their findings."""
    from phishguard.ruleset.engine import run_text_rules
    from phishguard.ruleset.text_matchers import _Near

    text = "Сообщите баланс карты и пришлите cvv"  # a three-slot rule and a two-slot one
    before = {f.rule: f.evidence for f in run_text_rules(scanner.ruleset, scanner.views(text)[0])}
    two = {r.id for r in near_rules(scanner) if len(r.fn.slots) == 2}
    assert "card.balance-request" in before and two & set(before)

    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(_Near, "_first2", boom)
    after = {f.rule: f.evidence for f in run_text_rules(scanner.ruleset, scanner.views(text)[0])}
    assert after["card.balance-request"] == before["card.balance-request"]
    assert not two & set(after)
    failed = set(after["degraded.rule-failed"].split(", "))
    assert two & set(before) <= failed <= two
