"""Word matchers for text rules: ``near`` — "these words close together", on the normalized text.

A rule lists *slots*; each slot is a list of *terms*; a term is one word pattern or a phrase of
them separated by spaces. A word pattern is matched against whole tokens (runs of letters and
digits of :attr:`NormText.text`, so ``смс-код`` is two tokens and ``avito_support_bot`` three):

``баланс``            exactly this word
``баланс*``           any word starting with ``баланс`` (баланс, баланса, балансе, balance…)
``карт(а|ы|е|у|ой)``  the stem plus one of the listed endings; an empty ending ``(|а)`` allows the bare stem

The rule fires when every slot has a term occurrence, all in one sentence (unless ``sentence: false``),
the whole match spanning at most ``within`` tokens, in slot order when ``ordered``; and no ``unless``
term occurs within ``unless_within`` tokens of the match (negations: "CVV не нужен"). The evidence is
the original text behind the matched words.

Speed: every text rule is called on every message, so the work common to all of them — splitting
the text into words and looking up which word patterns each word matches — is done once per message
and shared (:func:`analyze`). Word lookups are memoised per distinct word, so a message costs a few
dictionary lookups per word, and a rule whose words are absent returns after a set check.

>>> from phishguard.normalize import normalize_text
>>> run = _build_near(NearParams(slots=[["укаж*", "сообщ*"], ["баланс*"], ["карт(а|ы|е|у|ой)"]],
...                              unless=["не нужн*"]), None)
>>> [h.evidence for h in run(MessageView("x", normalize_text("Сообщите, пожалуйста, б а л а н с карты")))]
['Сообщите, пожалуйста, б а л а н с карты']
>>> list(run(MessageView("x", normalize_text("Укажите баланс телефона"))))
[]
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from pydantic import Field, field_validator

from ..normalize import NormText, fold_word
from .matchers import Hit, MessageView, Resources, TextFn, _Params, matcher

__all__ = ["NearParams", "WordIndex", "WordPattern", "Term", "TermSet", "Analysis", "analyze", "parse_word", "WORDS"]

#: A token of the normalized text: letters and digits (``_`` and punctuation separate tokens).
TOKEN_RE = re.compile(r"[^\W_]+")
#: Characters that end a sentence when they stand between two tokens.
SENTENCE_END_RE = re.compile(r"[!?;\n]|\.\s")
HARD_END_RE = re.compile(r"[!?;\n]")


def _is_abbreviation(word: str) -> bool:
    return word.isalpha() and len(word) <= 3
_WORD_SPEC = re.compile(r"^([^\W_]+)(?:(\*)|\(((?:[^\W_]*\|)*[^\W_]*)\))?$")


# --------------------------------------------------------------------------- word patterns


@dataclass(frozen=True, slots=True)
class WordPattern:
    """One parsed word pattern: ``stem`` plus the endings allowed after it.

    ``endings`` is ``None`` for "any ending" (``stem*``), else the set of allowed endings
    (``{""}`` for an exact word).
    """

    spec: str
    stem: str
    endings: frozenset[str] | None

    def matches(self, token: str) -> bool:
        if not token.startswith(self.stem):
            return False
        return self.endings is None or token[len(self.stem):] in self.endings


def _fold(piece: str) -> str:
    return unicodedata.normalize("NFKC", piece).casefold().replace("ё", "е")


def parse_word(spec: str) -> WordPattern:
    """Parse one word pattern, folded like messages are.

    >>> p = parse_word("Карт(а|ы|)")
    >>> p.stem, sorted(p.endings), p.matches("карты"), p.matches("карт"), p.matches("картина")
    ('карт', ['', 'а', 'ы'], True, True, False)
    >>> parse_word("CVV").endings
    frozenset({''})
    >>> parse_word("кар*т")
    Traceback (most recent call last):
    ...
    ValueError: bad word pattern 'кар*т': use word, stem* or stem(end1|end2|)
    """
    folded = _fold(spec.strip())
    m = _WORD_SPEC.match(folded)
    if not m:
        raise ValueError(f"bad word pattern {spec!r}: use word, stem* or stem(end1|end2|)")
    stem, star, ends = m.groups()
    if fold_word(stem) != stem:
        raise ValueError(f"word pattern {spec!r} changes under normalization (to {fold_word(stem)!r}); "
                         "write it in one alphabet")
    if star and len(stem) < 2:
        raise ValueError(f"word pattern {spec!r}: a stem with '*' needs at least 2 letters")
    endings = None if star else frozenset(ends.split("|")) if ends is not None else frozenset({""})
    return WordPattern(folded, stem, endings)


class WordIndex:
    """Interns word patterns and answers "which patterns does this word match?", memoised per word.

    Pattern ids are stable once given, so the index is a pure cache shared by all rules (like ``re``'s
    compile cache): what a rule matches never depends on which other rules were loaded. Registering a
    new pattern starts a fresh memo; the memo is also dropped when it grows past ``max_memo`` words.

    >>> ix = WordIndex()
    >>> a, b = ix.add("карт*"), ix.add("картой")
    >>> ix.ids_of("картой") == (a, b), ix.ids_of("карты") == (a,), ix.ids_of("марта")
    (True, True, ())
    """

    def __init__(self, max_memo: int = 200_000):
        self.max_memo = max_memo
        self._lock = threading.Lock()
        self._patterns: list[WordPattern] = []
        self._ids: dict[str, int] = {}
        self._by_stem: dict[str, list[int]] = {}
        self._stem_lengths: tuple[int, ...] = ()
        self.memo: dict[str, tuple[int, ...]] = {}

    def add(self, spec: str) -> int:
        """The id of word pattern ``spec`` (registered on first use)."""
        pat = parse_word(spec)
        with self._lock:
            pid = self._ids.get(pat.spec)
            if pid is None:
                pid = len(self._patterns)
                self._patterns.append(pat)
                self._ids[pat.spec] = pid
                self._by_stem.setdefault(pat.stem, []).append(pid)
                self._stem_lengths = tuple(sorted({len(s) for s in self._by_stem}))
                self.memo = {}
            return pid

    def pattern(self, pid: int) -> WordPattern:
        return self._patterns[pid]

    def ids_of(self, word: str) -> tuple[int, ...]:
        """Ids of the patterns ``word`` matches, in increasing order."""
        memo = self.memo
        found = memo.get(word)
        if found is None:
            found = self._lookup(word)
            if len(memo) >= self.max_memo:
                memo.clear()
            memo[word] = found
        return found

    def _lookup(self, word: str) -> tuple[int, ...]:
        out: list[int] = []
        for n in self._stem_lengths:
            if n > len(word):
                break
            for pid in self._by_stem.get(word[:n], ()):
                if self._patterns[pid].matches(word):
                    out.append(pid)
        return tuple(sorted(out))


#: The process-wide word index all ``near`` rules register their words in.
WORDS = WordIndex()


# --------------------------------------------------------------------------- per-message analysis


@dataclass(slots=True)
class Analysis:
    """A message split into words, and where each registered word pattern occurs.

    ``hits`` maps a pattern id to the word indices it matches. Character spans and sentence numbers
    of the words are computed only when a rule needs them (evidence, sentence check).
    """

    norm: NormText
    words: list[str]
    hits: dict[int, list[int]]
    _spans: list[tuple[int, int]] | None = field(default=None, repr=False)
    _sentences: list[int] | None = field(default=None, repr=False)

    def spans(self) -> list[tuple[int, int]]:
        if self._spans is None:
            self._spans = [m.span() for m in TOKEN_RE.finditer(self.norm.text)]
        return self._spans

    def sentences(self) -> list[int]:
        """Sentence number of each word.

        A sentence ends at ``! ? ;`` or a newline between two words, and at ``.`` followed by a space
        unless the word before it is a short abbreviation (``руб.``, ``ул.``: three letters or fewer).
        Dots inside ``avito.ru-deal.icu`` or ``3.5`` do not end anything.
        """
        if self._sentences is None:
            text, spans, words = self.norm.text, self.spans(), self.words
            out, n, prev_end = [], 0, 0
            for i, (start, end) in enumerate(spans):
                gap = text[prev_end:start]
                if i and SENTENCE_END_RE.search(gap):
                    if HARD_END_RE.search(gap) or not _is_abbreviation(words[i - 1]):
                        n += 1
                out.append(n)
                prev_end = end
            self._sentences = out
        return self._sentences

    def evidence(self, first: int, last: int) -> str:
        """The original text from word ``first`` to word ``last`` (inclusive)."""
        spans = self.spans()
        return self.norm.original_slice(spans[first][0], spans[last][1])


_local = threading.local()


def analyze(norm: NormText, index: WordIndex = WORDS) -> Analysis:
    """Split ``norm.text`` into words and look them up; the last result is reused per thread, so all
    rules that run on one message share one analysis."""
    memo = index.memo
    last = getattr(_local, "last", None)
    if last is not None and last[0] is norm and last[1] is memo:
        return last[2]
    words = TOKEN_RE.findall(norm.text)
    hits: dict[int, list[int]] = {}
    get = memo.get
    for i, w in enumerate(words):
        ids = get(w)
        if ids is None:
            ids = index.ids_of(w)
        for pid in ids:
            found = hits.get(pid)
            if found is None:
                hits[pid] = [i]
            else:
                found.append(i)
    result = Analysis(norm, words, hits)
    _local.last = (norm, memo, result)
    return result


# --------------------------------------------------------------------------- terms and slots

Occurrence = tuple[int, int]  # first word index, last word index (inclusive)


@dataclass(frozen=True, slots=True)
class Term:
    """A word pattern or a phrase of them (consecutive words)."""

    spec: str
    ids: tuple[int, ...]

    def occurrences(self, a: Analysis) -> list[Occurrence]:
        first = a.hits.get(self.ids[0])
        if not first:
            return []
        if len(self.ids) == 1:
            return [(i, i) for i in first]
        rest = [a.hits.get(pid) for pid in self.ids[1:]]
        if not all(rest):
            return []
        sets = [set(r) for r in rest]  # type: ignore[arg-type]
        return [(i, i + len(sets)) for i in first if all(i + k + 1 in s for k, s in enumerate(sets))]


def compile_term(spec: str, index: WordIndex = WORDS) -> Term:
    words = spec.split()
    if not words:
        raise ValueError("empty term")
    return Term(spec, tuple(index.add(w) for w in words))


@dataclass(frozen=True, slots=True)
class TermSet:
    """The terms of one slot (or of ``unless``), indexed by the id of their first word."""

    by_first: dict[int, tuple[Term, ...]]

    @classmethod
    def of(cls, specs: Sequence[str], index: WordIndex = WORDS) -> "TermSet":
        by_first: dict[int, list[Term]] = {}
        for spec in specs:
            term = compile_term(spec, index)
            by_first.setdefault(term.ids[0], []).append(term)
        return cls({k: tuple(v) for k, v in by_first.items()})

    @property
    def anchors(self) -> frozenset[int]:
        """Ids of the first words: a message holding none of them cannot contain a term."""
        return frozenset(self.by_first)

    def occurrences(self, a: Analysis) -> list[Occurrence]:
        """Where any term occurs, sorted; only terms whose first word is present are tried."""
        out: list[Occurrence] = []
        by_first = self.by_first
        for pid in by_first.keys() & a.hits.keys():
            for t in by_first[pid]:
                out.extend(t.occurrences(a))
        out.sort()
        return out


# --------------------------------------------------------------------------- the near matcher


class NearParams(_Params):
    slots: list[list[str]] = Field(
        min_length=1, max_length=5,
        description="Word groups that must all occur; each is a list of terms (word, stem*, stem(a|b|), "
        "or a phrase of those separated by spaces).",
    )
    within: int = Field(8, ge=1, le=60, description="The whole match spans at most this many words.")
    ordered: bool = Field(False, description="The slots must occur in the order given.")
    sentence: bool = Field(True, description="All matched words must stand in one sentence.")
    unless: list[str] = Field(
        default_factory=list, description="Terms that cancel the match when near it (negations, safe contexts)."
    )
    unless_within: int = Field(3, ge=0, le=30, description="How many words around the match 'unless' looks.")

    @field_validator("slots")
    @classmethod
    def _non_empty(cls, v: list[list[str]]) -> list[list[str]]:
        if any(not slot for slot in v):
            raise ValueError("every slot needs at least one term")
        return v


@dataclass(frozen=True, slots=True)
class _Near:
    slots: tuple[TermSet, ...]
    anchors: tuple[frozenset[int], ...]
    unless: TermSet
    p: NearParams

    def __call__(self, msg: MessageView) -> tuple[Hit, ...]:
        a = analyze(msg.norm)
        hits = a.hits
        if not hits:
            return ()
        for anchor in self.anchors:
            if anchor.isdisjoint(hits):
                return ()
        return self._search(a)

    def _search(self, a: Analysis) -> tuple[Hit, ...]:
        occ = [slot.occurrences(a) for slot in self.slots]
        if not all(occ):
            return ()
        guards = self.unless.occurrences(a)
        sentences = a.sentences() if self.p.sentence else None
        best: Occurrence | None = None
        for lo, hi in self._combinations(occ, 0, None, None, -1, frozenset()):
            if sentences is not None and sentences[lo] != sentences[hi]:
                continue
            if guards and self._guarded(lo, hi, guards):
                continue
            if best is None or hi - lo < best[1] - best[0]:
                best = (lo, hi)
        if best is None:
            return ()
        return (Hit(evidence=a.evidence(*best)),)

    def _combinations(
        self,
        occ: list[list[Occurrence]],
        k: int,
        lo: int | None,
        hi: int | None,
        prev_end: int,
        used: frozenset[int],
    ) -> Iterator[Occurrence]:
        """Spans (first, last word) of one occurrence per slot, non-overlapping, within the window."""
        if k == len(occ):
            assert lo is not None and hi is not None
            yield lo, hi
            return
        limit = self.p.within
        for start, end in occ[k]:
            if self.p.ordered and start <= prev_end:
                continue
            taken = frozenset(range(start, end + 1))
            if not used.isdisjoint(taken):
                continue
            nlo = start if lo is None else min(lo, start)
            nhi = end if hi is None else max(hi, end)
            if nhi - nlo + 1 > limit:
                continue
            yield from self._combinations(occ, k + 1, nlo, nhi, end, used | taken)

    def _guarded(self, lo: int, hi: int, guards: list[Occurrence]) -> bool:
        w = self.p.unless_within
        return any(g_start <= hi + w and g_end >= lo - w for g_start, g_end in guards)


@matcher("near", "text", NearParams)
def _build_near(p: NearParams, res: Resources | None) -> TextFn:
    """Words from every slot close together (``within`` words, one sentence, optionally in order), unless
    a guard word stands near; terms are words, ``stem*`` or ``stem(end|end)``, or phrases of them."""
    slots = tuple(TermSet.of(slot) for slot in p.slots)
    return _Near(slots, tuple(s.anchors for s in slots), TermSet.of(p.unless), p)
