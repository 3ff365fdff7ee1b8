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
from dataclasses import dataclass
from itertools import chain, product

from pydantic import Field, field_validator

from ..normalize import NormText, fold_word
from .matchers import GATES, Hit, MessageView, Resources, TextFn, _Params, matcher

__all__ = ["WORDS", "Analysis", "NearParams", "Term", "TermSet", "WordIndex", "WordPattern", "analyze", "parse_word"]

#: A token of the normalized text: letters and digits (``_`` and punctuation separate tokens).
TOKEN_RE = re.compile(r"[^\W_]+")
#: What ends a sentence (see :meth:`Analysis._split`); the group keeps the separators in ``split``.
SENTENCE_SPLIT_RE = re.compile(r"([!?;\n]+|\.(?=\s))")


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


class _Memo(dict):
    """``text -> ids of the word patterns its words match``; filled on first access, dropped when full."""

    __slots__ = ("index",)

    def __init__(self, index: WordIndex):
        super().__init__()
        self.index = index

    def __missing__(self, key: str) -> tuple[int, ...]:
        ids = self.index._lookup_chunk(key)
        if len(self) >= self.index.max_memo:
            self.clear()
        self[key] = ids
        return ids


class WordIndex:
    """Interns word patterns and answers "which patterns do the words of this text match?".

    Answers are memoised per string — a word, or a whitespace-separated chunk such as ``"карты,"`` —
    so a message costs one dictionary lookup per chunk once the vocabulary is warm. Pattern ids are
    stable once given, so the index is a pure cache shared by all rules (like ``re``'s compile cache):
    what a rule matches never depends on which other rules were loaded. Registering a new pattern
    starts a fresh memo; the memo is also dropped when it holds ``max_memo`` strings.

    >>> ix = WordIndex()
    >>> a, b = ix.add("карт*"), ix.add("картой")
    >>> ix.ids_of("картой") == (a, b), ix.ids_of("карты") == (a,), ix.ids_of("марта")
    (True, True, ())
    >>> ix.ids_of("(картой/марта)") == (a, b)
    True
    """

    def __init__(self, max_memo: int = 200_000):
        self.max_memo = max_memo
        self._lock = threading.Lock()
        self._patterns: list[WordPattern] = []
        self._ids: dict[str, int] = {}
        self._by_stem: dict[str, list[int]] = {}
        self._stem_lengths: tuple[int, ...] = ()
        self.memo: _Memo = _Memo(self)

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
                self.memo = _Memo(self)
            return pid

    def pattern(self, pid: int) -> WordPattern:
        return self._patterns[pid]

    def ids_of(self, text: str) -> tuple[int, ...]:
        """Ids of the patterns matched by the words of ``text``, in increasing order."""
        return self.memo[text]

    def _lookup_chunk(self, chunk: str) -> tuple[int, ...]:
        words = TOKEN_RE.findall(chunk)
        if len(words) == 1 and words[0] == chunk:
            return self._lookup_word(chunk)
        memo = self.memo
        return tuple(sorted({pid for w in words for pid in memo[w]}))

    def _lookup_word(self, word: str) -> tuple[int, ...]:
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


class Analysis:
    """One message as the ``near`` rules see it, computed in two steps.

    ``present``: the ids of every word pattern found anywhere in the text — one memo lookup per
    whitespace chunk. Rules whose slots are not all present stop here (most messages, most rules).
    ``words``/``hits``: the words and, per pattern id, the indices of the words it matches — built only
    when a rule gets past ``present``; character spans and sentence numbers likewise, on demand.
    """

    __slots__ = ("_hits", "_memo", "_sentences", "_spans", "_words", "norm", "present")

    def __init__(self, norm: NormText, memo: _Memo):
        self.norm = norm
        self._memo = memo
        self.present: frozenset[int] = frozenset(chain.from_iterable(map(memo.__getitem__, norm.text.split())))
        self._words: list[str] | None = None
        self._sentences: list[int] | None = None
        self._hits: dict[int, list[int]] | None = None
        self._spans: list[tuple[int, int]] | None = None

    def _split(self) -> None:
        """Words and their sentence numbers, from one split of the text into sentences.

        A sentence ends at ``! ? ;`` or a newline, and at ``.`` followed by a space unless the word
        before it is a short abbreviation (``руб.``, ``ул.``: three letters or fewer). Dots inside
        ``avito.ru-deal.icu`` or ``3.5`` end nothing.
        """
        parts = SENTENCE_SPLIT_RE.split(self.norm.text)  # [text, separator, text, separator, ..., text]
        words: list[str] = []
        sentences: list[int] = []
        n = 0
        for k in range(0, len(parts), 2):
            found = TOKEN_RE.findall(parts[k])
            if found:
                words.extend(found)
                sentences.extend([n] * len(found))
            if k + 1 < len(parts) and (parts[k + 1] != "." or not (found and _is_abbreviation(found[-1]))):
                n += 1
        self._words, self._sentences = words, sentences

    @property
    def words(self) -> list[str]:
        if self._words is None:
            self._split()
        return self._words  # type: ignore[return-value]

    @property
    def sentences(self) -> list[int]:
        """Sentence number of each word."""
        if self._sentences is None:
            self._split()
        return self._sentences  # type: ignore[return-value]

    @property
    def hits(self) -> dict[int, list[int]]:
        """Per pattern id, the indices of the words it matches."""
        if self._hits is None:
            hits: dict[int, list[int]] = {}
            for i, ids in enumerate(map(self._memo.__getitem__, self.words)):
                for pid in ids:
                    found = hits.get(pid)
                    if found is None:
                        hits[pid] = [i]
                    else:
                        found.append(i)
            self._hits = hits
        return self._hits

    def spans(self) -> list[tuple[int, int]]:
        """Character span of each word in the normalized text."""
        if self._spans is None:
            self._spans = [m.span() for m in TOKEN_RE.finditer(self.norm.text)]
        return self._spans

    def evidence(self, first: int, last: int) -> str:
        """The original text from word ``first`` to word ``last`` (inclusive)."""
        spans = self.spans()
        return self.norm.original_slice(spans[first][0], spans[last][1])


def analyze(norm: NormText, index: WordIndex = WORDS) -> Analysis:
    """The word analysis of ``norm`` against ``index``."""
    return Analysis(norm, index.memo)


def _analysis_of(msg: MessageView) -> Analysis:
    """The message's analysis, computed once and shared by every ``near`` rule (``MessageView.memo``)."""
    a = msg.memo.get("near")
    if a is None or a._memo is not WORDS.memo:
        a = msg.memo["near"] = Analysis(msg.norm, WORDS.memo)
    return a


# --------------------------------------------------------------------------- terms and slots

Occurrence = tuple[int, int]  # first word index, last word index (inclusive)


@dataclass(frozen=True, slots=True)
class Term:
    """A word pattern or a phrase of them (consecutive words)."""

    spec: str
    ids: tuple[int, ...]

    def occurrences(self, hits: dict[int, list[int]]) -> list[Occurrence]:
        first = hits.get(self.ids[0])
        if not first:
            return []
        if len(self.ids) == 1:
            return [(i, i) for i in first]
        rest = [hits.get(pid) for pid in self.ids[1:]]
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
    """The terms of one slot (or of ``unless``): one-word terms as a set of pattern ids, phrases by
    the id of their first word."""

    single: frozenset[int]
    phrases: dict[int, tuple[Term, ...]]
    phrase_firsts: frozenset[int]
    anchors: frozenset[int]  # ids of first words: a message holding none of them cannot contain a term

    @classmethod
    def of(cls, specs: Sequence[str], index: WordIndex = WORDS) -> TermSet:
        single: set[int] = set()
        phrases: dict[int, list[Term]] = {}
        for spec in specs:
            term = compile_term(spec, index)
            if len(term.ids) == 1:
                single.add(term.ids[0])
            else:
                phrases.setdefault(term.ids[0], []).append(term)
        firsts = frozenset(phrases)
        return cls(frozenset(single), {k: tuple(v) for k, v in phrases.items()}, firsts, frozenset(single) | firsts)

    def occurrences(self, a: Analysis) -> list[Occurrence]:
        """Where any term occurs: sorted, each (first word, last word) once."""
        present = a.present
        if self.anchors.isdisjoint(present):
            return []
        hits = a.hits
        found = {(i, i) for pid in self.single & present for i in hits[pid]}
        for pid in self.phrase_firsts & present:
            for term in self.phrases[pid]:
                found.update(term.occurrences(hits))
        return sorted(found)


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


def _nearest(slot: list[Occurrence], start: int, end: int, within: int) -> list[Occurrence]:
    """Occurrences that fit in a window of ``within`` words with ``start..end``, nearest first."""
    cands = [o for o in slot if o[0] >= end - within + 1 and o[1] <= start + within - 1]
    cands.sort(key=lambda o: abs(o[0] - start))
    return cands


def _disjoint(combo: Sequence[Occurrence], ordered: bool) -> bool:
    """No two occurrences share a word; with ``ordered``, each starts after the previous one ends."""
    if ordered:
        return all(combo[i][1] < combo[i + 1][0] for i in range(len(combo) - 1))
    if len(combo) == 1:
        return True
    ranked = sorted(combo)
    return all(ranked[i][1] < ranked[i + 1][0] for i in range(len(ranked) - 1))


GATES["near"] = lambda msg: _analysis_of(msg).present


@dataclass(frozen=True, slots=True)
class _Near:
    slots: tuple[TermSet, ...]
    anchors: tuple[frozenset[int], ...]
    unless: TermSet
    p: NearParams
    gate: str = "near"  # the engine skips this rule unless every anchor is present (matchers.GATES)

    def __call__(self, msg: MessageView) -> tuple[Hit, ...]:
        a = _analysis_of(msg)
        present = a.present
        if not present:
            return ()
        for anchor in self.anchors:
            if anchor.isdisjoint(present):
                return ()
        return self._search(a)

    def _search(self, a: Analysis) -> tuple[Hit, ...]:
        occ = [slot.occurrences(a) for slot in self.slots]
        if not all(occ):
            return ()
        guards: list[Occurrence] | None = None  # looked up only once a window is found
        sentences = a.sentences if self.p.sentence else None
        for lo, hi in self._windows(occ):
            if sentences is not None and sentences[lo] != sentences[hi]:
                continue
            if guards is None:
                guards = self.unless.occurrences(a)
            if guards and self._guarded(lo, hi, guards):
                continue
            return (Hit(evidence=a.evidence(lo, hi)),)
        return ()

    def _windows(self, occ: list[list[Occurrence]]) -> Iterator[Occurrence]:
        """Spans (first, last word) of one occurrence per slot: non-overlapping, in slot order when
        ``ordered``, at most ``within`` words. Built around each occurrence of the rarest slot, trying
        the nearest occurrences of the other slots first, so the first span found is a tight one."""
        within, ordered = self.p.within, self.p.ordered
        pivot = min(range(len(occ)), key=lambda k: len(occ[k]))
        for p_start, p_end in occ[pivot]:
            near = [
                [(p_start, p_end)] if k == pivot else _nearest(slot, p_start, p_end, within)
                for k, slot in enumerate(occ)
            ]
            if not all(near):
                continue
            for combo in product(*near):
                lo = min(o[0] for o in combo)
                hi = max(o[1] for o in combo)
                if hi - lo + 1 <= within and _disjoint(combo, ordered):
                    yield lo, hi

    def _guarded(self, lo: int, hi: int, guards: list[Occurrence]) -> bool:
        w = self.p.unless_within
        return any(g_start <= hi + w and g_end >= lo - w for g_start, g_end in guards)


@matcher("near", "text", NearParams)
def _build_near(p: NearParams, res: Resources | None) -> TextFn:
    """Words from every slot close together (``within`` words, one sentence, optionally in order), unless
    a guard word stands near; terms are words, ``stem*`` or ``stem(end|end)``, or phrases of them."""
    slots = tuple(TermSet.of(slot) for slot in p.slots)
    return _Near(slots, tuple(s.anchors for s in slots), TermSet.of(p.unless), p)
