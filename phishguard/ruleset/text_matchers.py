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
#: Tokens and sentence ends, in text order (one scan; see :meth:`Analysis._split`).
TOKEN_OR_END_RE = re.compile(r"[^\W_]+|[!?;\n]+|\.(?=\s)")
_END_CHARS = frozenset("!?;\n.")


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

    __slots__ = ("_hits", "_ids_at", "_memo", "_phrases", "_sentences", "_spans", "_words", "norm", "present")

    def __init__(self, norm: NormText, memo: _Memo):
        self.norm = norm
        self._memo = memo
        self.present: frozenset[int] = frozenset(chain.from_iterable(map(memo.__getitem__, norm.text.split())))
        self._words: list[str] | None = None
        self._sentences: list[int] | None = None
        self._hits: dict[int, list[int]] | None = None
        self._ids_at: list[tuple[int, ...]] = []  # per word, the pattern ids it matches (with ``hits``)
        self._phrases: dict[tuple[int, ...], list[Occurrence]] = {}  # phrase occurrences, per message
        self._spans: list[int] | None = None  # start offsets of the first words (see ``_start``)

    def _split(self) -> None:
        """Words, their sentence numbers and the pattern ids of each word, from one regex pass.

        A sentence ends at ``! ? ;`` or a newline, and at ``.`` followed by a space unless the word
        before it is a short abbreviation (``руб.``, ``ул.``: three letters or fewer). Dots inside
        ``avito.ru-deal.icu`` or ``3.5`` end nothing.

        ``TOKEN_OR_END_RE`` finds the tokens and the sentence ends in text order (they share no
        character, so this is ``SENTENCE_SPLIT_RE.split`` then ``TOKEN_RE.findall`` on each part, in
        one scan); ``hits`` (pattern id -> word indices) is filled in the same loop.
        """
        words: list[str] = []
        sentences: list[int] = []
        ids_at: list[tuple[int, ...]] = []
        hits: dict[int, list[int]] = {}
        memo = self._memo
        get = hits.get
        n = 0
        last: str | None = None  # the last word since the last sentence end
        i = 0
        for item in TOKEN_OR_END_RE.findall(self.norm.text):
            if item[0] in _END_CHARS:
                if item != "." or last is None or not (last.isalpha() and len(last) <= 3):
                    n += 1
                last = None
                continue
            last = item
            words.append(item)
            sentences.append(n)
            ids = memo[item]
            ids_at.append(ids)
            for pid in ids:
                found = get(pid)
                if found is None:
                    hits[pid] = [i]
                else:
                    found.append(i)
            i += 1
        self._words, self._sentences, self._ids_at, self._hits = words, sentences, ids_at, hits

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
        """Per pattern id, the indices of the words it matches (increasing)."""
        if self._hits is None:
            self._split()
        return self._hits  # type: ignore[return-value]

    def _start(self, k: int) -> int:
        """Character offset of word ``k`` in the normalized text.

        Found by ``str.find`` from the end of the previous word: only non-token characters stand
        between two words, so the first occurrence of word ``k`` after word ``k - 1`` is word ``k``.
        """
        starts = self._spans
        if starts is None:
            starts = self._spans = []  # type: ignore[assignment]
        if k >= len(starts):
            words, find = self.words, self.norm.text.find
            j = len(starts)
            pos = starts[-1] + len(words[j - 1]) if j else 0  # type: ignore[operator]
            while j <= k:
                pos = find(words[j], pos)
                starts.append(pos)  # type: ignore[arg-type]
                pos += len(words[j])
                j += 1
        return starts[k]  # type: ignore[return-value]

    def spans(self) -> list[tuple[int, int]]:
        """Character span of each word in the normalized text."""
        words = self.words
        if words:
            self._start(len(words) - 1)
        return [(st, st + len(w)) for st, w in zip(self._spans or (), words)]  # type: ignore[arg-type]

    def evidence(self, first: int, last: int) -> str:
        """The original text from word ``first`` to word ``last`` (inclusive)."""
        return self.norm.original_slice(self._start(first), self._start(last) + len(self.words[last]))


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


def _phrase_occurrences(ids: tuple[int, ...], first: list[int], ids_at: list[tuple[int, ...]]) -> list[Occurrence]:
    """Where the phrase ``ids`` occurs, given the positions of its first word and each word's pattern ids
    (the same as :meth:`Term.occurrences`, without building sets)."""
    k = len(ids) - 1
    last = len(ids_at) - k
    if k == 1:
        second = ids[1]
        return [(i, i + 1) for i in first if i < last and second in ids_at[i + 1]]
    rest = ids[1:]
    out = []
    for i in first:
        if i < last:
            for j, pid in enumerate(rest, i + 1):
                if pid not in ids_at[j]:
                    break
            else:
                out.append((i, i + k))
    return out


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
        single = self.single & present
        firsts = self.phrase_firsts & present if self.phrase_firsts else ()
        if not single and not firsts:
            return []
        hits = a._hits
        if hits is None:
            a._split()
            hits = a._hits
        if not firsts:
            if len(single) == 1:  # the common case: one word pattern of the slot in the message
                for pid in single:
                    return [(i, i) for i in hits[pid]]
            return [(i, i) for i in sorted({i for pid in single for i in hits[pid]})]
        found = {(i, i) for pid in single for i in hits[pid]}
        cache = a._phrases
        for pid in firsts:
            for term in self.phrases[pid]:
                ids = term.ids
                occ = cache.get(ids)
                if occ is None:
                    occ = cache[ids] = _phrase_occurrences(ids, hits[pid], a._ids_at)
                found.update(occ)
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
        a = msg.memo.get("near")
        if a is None or a._memo is not WORDS.memo:
            a = _analysis_of(msg)
        present = a.present
        if not present:
            return ()
        for anchor in self.anchors:
            if anchor.isdisjoint(present):
                return ()
        return self._search(a)

    def _search(self, a: Analysis) -> tuple[Hit, ...]:
        occ = []
        for slot in self.slots:
            found = slot.occurrences(a)
            if not found:
                return ()
            occ.append(found)
        p = self.p
        within = p.within
        if len(occ) == 2:
            windows = self._windows2(occ, within, p.ordered)
        elif len(occ) == 3:
            windows = self._windows3(occ, within, p.ordered)
        else:
            windows = self._windows(occ)
        guards: list[Occurrence] | None = None  # looked up only once a window is found
        sentences = a.sentences if p.sentence else None
        w = p.unless_within
        for lo, hi in windows:
            if sentences is not None and sentences[lo] != sentences[hi]:
                continue
            if guards is None:
                guards = self.unless.occurrences(a)
            if guards:
                top, bottom = hi + w, lo - w
                for g_start, g_end in guards:
                    if g_start <= top and g_end >= bottom:
                        break
                else:
                    return (Hit(evidence=a.evidence(lo, hi)),)
                continue
            return (Hit(evidence=a.evidence(lo, hi)),)
        return ()

    # The window search: around each occurrence of the rarest slot (the first such slot), the other
    # slots' occurrences that fit in a window of ``within`` words with it, nearest first; the first
    # combination (slot 0 varying slowest) that is non-overlapping (in slot order when ``ordered``) and
    # spans at most ``within`` words is the first window. ``_windows`` is the general form;
    # ``_windows2``/``_windows3`` are the same search unrolled for two and three slots (no generators
    # of generators, no ``product``), yielding the same windows in the same order.

    @staticmethod
    def _windows2(occ: list[list[Occurrence]], within: int, ordered: bool) -> Iterator[Occurrence]:
        o0, o1 = occ
        pivot = 1 if len(o1) < len(o0) else 0
        for ps, pe in occ[pivot]:
            lo_lim, hi_lim = pe - within + 1, ps + within - 1
            other = [o for o in (o0 if pivot else o1) if o[0] >= lo_lim and o[1] <= hi_lim]
            if not other:
                continue
            if len(other) > 1:
                other.sort(key=lambda o: abs(o[0] - ps))
            for qs, qe in other:
                if pivot:
                    as_, ae, bs, be = qs, qe, ps, pe
                else:
                    as_, ae, bs, be = ps, pe, qs, qe
                lo = min(bs, as_)
                hi = max(be, ae)
                if hi - lo + 1 > within:
                    continue
                if ordered:
                    if ae < bs:
                        yield lo, hi
                elif ae < bs or be < as_:
                    yield lo, hi

    @staticmethod
    def _windows3(occ: list[list[Occurrence]], within: int, ordered: bool) -> Iterator[Occurrence]:
        n0, n1, n2 = len(occ[0]), len(occ[1]), len(occ[2])
        pivot = 0
        if n1 < n0:
            pivot, n0 = 1, n1
        if n2 < n0:
            pivot = 2
        for ps, pe in occ[pivot]:
            lo_lim, hi_lim = pe - within + 1, ps + within - 1
            near = []
            for k in (0, 1, 2):
                if k == pivot:
                    near.append(((ps, pe),))
                    continue
                cands = [o for o in occ[k] if o[0] >= lo_lim and o[1] <= hi_lim]
                if not cands:
                    break
                if len(cands) > 1:
                    cands.sort(key=lambda o: abs(o[0] - ps))
                near.append(cands)
            else:
                c0, c1, c2 = near
                for as_, ae in c0:
                    for bs, be in c1:
                        if ordered:
                            if ae >= bs:
                                continue
                        elif not (ae < bs or be < as_):
                            continue
                        lo01 = min(bs, as_)
                        hi01 = max(be, ae)
                        for cs, ce in c2:
                            lo = min(cs, lo01)
                            hi = max(ce, hi01)
                            if hi - lo + 1 > within:
                                continue
                            if ordered:
                                if be < cs:
                                    yield lo, hi
                            elif (ae < cs or ce < as_) and (be < cs or ce < bs):
                                yield lo, hi

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
