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

Speed (issue #4: all text rules ≤ 30 µs per 200-character message): chat vocabulary repeats, so
regexes run only on text not seen before. A message is split on white space and each chunk looked up
in a bounded memo (:class:`_ChunkMemo`: chunk -> its words' *features* — the word groups of the
slots and phrases they belong to — and its sentence ends), which gives the keyword gate its keys
(``present``). The engine remembers, per combination of keys, which rules can match and how
(:meth:`_Near.prepare`: the slots' groups and the phrases whose every word is present), so only those
rules run, on one pass over the chunks that lists where each of *their* features occurs
(:meth:`Analysis._scan`, one flat loop over each chunk's precomputed (feature, word, place) entries,
noting where the listed words stand in the text); the engine runs all of them in one call per message
(:func:`_batch`), and each rule checks its window on those short sorted lists. Evidence offsets come from
the places the scan noted (a window starts and ends at such words), else from running sums of the
chunks' sizes. Every memo is a plain dict with a size bound (thread-safe enough under CPython: at worst
an entry is computed twice).

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
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import reduce
from itertools import accumulate, chain, product
from operator import itemgetter, or_

from pydantic import Field, field_validator

from ..normalize import NormText, fold_word
from .matchers import (
    GATE_BATCHES,
    GATE_KEYS,
    GATE_PLANS,
    GATES,
    Hit,
    MessageView,
    Resources,
    TextFn,
    _Params,
    matcher,
)

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


#: In a chunk's sentence starts (see :data:`Chunk`): a ``.`` that ends a sentence unless the last word before
#: it (in an earlier chunk) is a short abbreviation.
COND = -1


class _ChunkMemo(dict):
    """``chunk -> Chunk``: what the ``near`` rules need to know about one whitespace-free piece of text.

    Filled on first access, dropped when it holds ``max_chunks`` chunks (plain dict operations only, so
    threads may share it: at worst two threads compute the same entry)."""

    __slots__ = ("index", "shared", "words")

    def __init__(self, index: WordIndex):
        super().__init__()
        self.index = index
        self.words: dict[str, tuple[int, ...]] = {}  # word -> feature ids (see WordIndex.features_of)
        #: equal values are one object (few distinct ones: most chunks are one word with no feature),
        #: so the per-message work touches little memory besides the memo's table
        self.shared: dict[tuple, tuple] = {}

    def __missing__(self, key: str) -> Chunk:
        info = self.index._chunk(key, self.words, self.shared)
        if len(self) >= self.index.max_chunks:
            self.clear()
            self.words.clear()
            self.shared.clear()
        self[key] = info
        return info


#: What a chunk (a run of non-space characters) holds, precomputed once per distinct chunk:
#: ``(features, pairs, size, bits, words, starts, width)`` — the feature ids of all its words (the keyword
#: gate's keys); ``(feature, word, span)`` for each feature of each word (the word's index in the chunk and
#: its place there, ``start << 16 | length``), in word order then feature order, so the position scan
#: (:meth:`Analysis._scan`) is one flat loop per chunk with no per-word step for words without features, and
#: notes where the words it lists stand in the text (the evidence); its number of words and length packed in one int
#: (``words << _SHIFT | length``), so that one running sum gives both (see ``Analysis._chunk_ends``); the
#: features again as the bits of one int (a message's bits, OR-ed, are the gate memo's key: cheaper to
#: build and compare than a set); the number of words; and the index (in the chunk) of the word after each
#: sentence end in it (``COND`` for a ``.`` whose effect depends on the words before the chunk); and its
#: length plus one (the space after it), shifted like the spans (``_NO_SPANS`` if a word is too long for them).
Chunk = tuple[tuple[int, ...], tuple[tuple[int, int, int], ...], int, int, int, tuple[int, ...], int]


class WordIndex:
    """Interns word patterns and answers "which patterns do the words of this text match?".

    Answers are memoised per string — a word, or a whitespace-separated chunk such as ``"карты,"`` —
    so a message costs one dictionary lookup per chunk once the vocabulary is warm. Pattern ids are
    stable once given, so the index is a pure cache shared by all rules (like ``re``'s compile cache):
    what a rule matches never depends on which other rules were loaded. Registering a new pattern
    starts a fresh memo; the memo is also dropped when it holds ``max_memo`` strings.

    *Features* are what the ``near`` rules look up per word: a feature is a set of word patterns (the
    one-word terms of a slot, or one word of a phrase) and a word has it when it matches any of them.
    ``chunks`` maps a whitespace-free piece of text to its words, their features and its sentence ends
    (:data:`Chunk`), so the per-message work is one dictionary lookup per chunk, and regexes run only
    on chunks not seen before.

    >>> ix = WordIndex()
    >>> a, b = ix.add("карт*"), ix.add("картой")
    >>> ix.ids_of("картой") == (a, b), ix.ids_of("карты") == (a,), ix.ids_of("марта")
    (True, True, ())
    >>> ix.ids_of("(картой/марта)") == (a, b)
    True
    >>> f = ix.feature(frozenset({a, b}))
    >>> feats, pairs, size, bits, n, starts, width = ix.chunks["(картой!"]  # a word, then a sentence end
    >>> feats == (f,), pairs == ((f, 0, 1 << 16 | 6),), (size >> _SHIFT, size & _MASK), bits == 1 << f, n, starts
    (True, True, (1, 8), True, 1, (1,))
    >>> width == 9 << 16
    True
    """

    def __init__(self, max_memo: int = 200_000, max_chunks: int = 50_000):
        self.max_memo = max_memo
        self.max_chunks = max_chunks
        self._lock = threading.Lock()
        self._patterns: list[WordPattern] = []
        self._ids: dict[str, int] = {}
        self._by_stem: dict[str, list[int]] = {}
        self._stem_lengths: tuple[int, ...] = ()
        self._features: dict[frozenset[int], int] = {}
        self._of_pattern: list[list[int]] = []  # pattern id -> ids of the features holding it
        self.memo: _Memo = _Memo(self)
        self.chunks: _ChunkMemo = _ChunkMemo(self)

    def add(self, spec: str) -> int:
        """The id of word pattern ``spec`` (registered on first use)."""
        pat = parse_word(spec)
        with self._lock:
            pid = self._ids.get(pat.spec)
            if pid is None:
                pid = len(self._patterns)
                self._patterns.append(pat)
                self._of_pattern.append([])
                self._ids[pat.spec] = pid
                self._by_stem.setdefault(pat.stem, []).append(pid)
                self._stem_lengths = tuple(sorted({len(s) for s in self._by_stem}))
                self.memo = _Memo(self)
                self.chunks = _ChunkMemo(self)
            return pid

    def feature(self, pids: frozenset[int]) -> int:
        """The id of the feature "matches one of the patterns ``pids``" (registered on first use)."""
        with self._lock:
            fid = self._features.get(pids)
            if fid is None:
                fid = self._features[pids] = len(self._features)
                for pid in pids:
                    self._of_pattern[pid].append(fid)
                self.chunks = _ChunkMemo(self)
            return fid

    def pattern(self, pid: int) -> WordPattern:
        return self._patterns[pid]

    def ids_of(self, text: str) -> tuple[int, ...]:
        """Ids of the patterns matched by the words of ``text``, in increasing order."""
        return self.memo[text]

    def features_of(self, word: str) -> tuple[int, ...]:
        """Ids of the features of one word, in increasing order."""
        of = self._of_pattern
        return tuple(sorted({fid for pid in self._lookup_word(word) for fid in of[pid]}))

    def _chunk(self, chunk: str, words: dict[str, tuple[int, ...]], shared: dict[tuple, tuple]) -> Chunk:
        """Words, features and sentence ends of ``chunk`` (see :meth:`Analysis._scan` for the ends)."""
        pairs: list[tuple[int, int, int]] = []
        starts: list[int] = []
        width = (len(chunk) + 1) << 16
        last: str | None = None
        seen = False  # a word or a sentence end before, in this chunk
        n = 0
        # A chunk is followed by white space (or the end of the text, where an end changes nothing).
        for m in TOKEN_OR_END_RE.finditer(chunk + " "):
            item = m.group()
            if item[0] not in _END_CHARS:
                feats = words.get(item)
                if feats is None:
                    feats = self.features_of(item)
                    feats = words[item] = shared.setdefault(feats, feats)
                a, b = m.span()
                if b - a > 0xFFFF:
                    width = _NO_SPANS
                pairs += ((f, n, a << 16 | (b - a)) for f in feats)
                n += 1
                last, seen = item, True
                continue
            if item != ".":
                starts.append(n)
            elif not seen:
                starts.append(COND)  # depends on the word before this chunk
            elif last is None or not _is_abbreviation(last):
                starts.append(n)
            last, seen = None, True
        feats = tuple(sorted({p[0] for p in pairs}))
        bits = 0
        for f in feats:
            bits |= 1 << f
        info = (shared.setdefault(feats, feats), tuple(pairs), n << _SHIFT | min(len(chunk), _MASK), bits, n,
                tuple(starts), width)
        return shared.setdefault(info, info)  # type: ignore[return-value]

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

_features_of_chunk = itemgetter(0)
_size_of_chunk = itemgetter(2)
_bits_of_chunk = itemgetter(3)
_SHIFT = 24  # (written out as literals in ``Analysis.evidence``)
_MASK = (1 << _SHIFT) - 1
_NPAIRS = 512
_NO_SPANS = 1 << 60  # a chunk's width when a word is too long for ``start << 16 | length``: no places
_PAIRS: tuple[tuple[int, int], ...] = tuple((i, i) for i in range(_NPAIRS))  # one-word occurrences, made once

Occurrence = tuple[int, int]  # first word index, last word index (inclusive)


def _chunks_of(text: str) -> list[str]:
    """The whitespace-separated chunks of ``text``, with ``"\\n"`` (a sentence end, and never a chunk of
    ``str.split``) between lines."""
    if "\n" not in text:
        return text.split()
    chunks: list[str] = []
    for line in text.split("\n"):
        chunks += line.split()
        chunks.append("\n")
    return chunks


class Analysis:
    """One message as the ``near`` rules see it, computed in two steps.

    ``present``: the ids of every feature found anywhere in the text — one memo lookup per
    whitespace chunk. Rules whose slots are not all present stop here (most messages, most rules).
    ``hits``: per feature, the (word, word) occurrences of the words that have it, and the sentence
    starts — one loop over the chunks' items, done only when a rule gets past ``present``; the words
    and their character offsets only when a rule fires (for the evidence).
    """

    __slots__ = ("_at", "_chunks", "_filter", "_hits", "_memo", "_pieces", "_present", "_spans", "_starts", "_words", "key",
                 "norm")

    def __init__(self, norm: NormText, memo: _ChunkMemo):
        self.norm = norm
        self._memo = memo
        self._pieces = _chunks_of(norm.text)
        self._chunks: list[Chunk] = list(map(memo.__getitem__, self._pieces))
        #: ``present`` as the bits of one int (the gate memo's key, ``matchers.GATE_KEYS``)
        self.key: int = reduce(or_, filter(None, map(_bits_of_chunk, self._chunks)), 0)  # (no big-int copies for 0s)
        self._present: frozenset[int] | None = None
        self._hits: dict[int, list[Occurrence]] | None = None
        self._filter: frozenset[int] | None = None  # the features ``hits`` was limited to (None: all)
        self._starts: list[int] = _NO_STARTS  # word indices where a sentence starts (with ``hits``)
        self._words: list[str] | None = None
        self._spans: list[int] | tuple[list[int], int] | None = None  # see ``_start``
        #: word -> ``start << 16 | length`` in ``norm.text``, for the words ``hits`` lists, when the scan could tell
        self._at: dict[int, int] | None = None

    @property
    def present(self) -> frozenset[int]:
        """The ids of every feature of the text's words."""
        present = self._present
        if present is None:
            present = self._present = frozenset(chain.from_iterable(map(_features_of_chunk, self._chunks)))
        return present

    def _scan(self, only: frozenset[int] | None = None) -> dict[int, list[Occurrence]]:
        """Per feature (of those in ``only``, if given), its occurrences ``(i, i)`` (word ``i`` has it), in
        increasing order; and the sentence starts.

        A sentence ends at ``! ? ;`` or a newline, and at ``.`` followed by a space unless the word
        before it is a short abbreviation (``руб.``, ``ул.``: three letters or fewer). Dots inside
        ``avito.ru-deal.icu`` or ``3.5`` end nothing. The chunks carry their ends, resolved but for a
        ``.`` with no word before it in its chunk (``руб .``): then the ends are found again from the
        text (rare).
        """
        text = self.norm.text
        lead = 1 << 16 if text[:1] == " " else 0  # where the chunk starts, if single spaces separate chunks
        pairs = _PAIRS  # ``_PAIRS[k]`` is ``(k, k)``, made once (a text of more words: the IndexError below)
        everything = frozenset(range(len(self._memo.index._features))) if only is None else only
        while True:
            hits: defaultdict[int, list[Occurrence]] = defaultdict(list)
            starts: list[int] = []
            at: dict[int, int] = {}
            cond = False
            i, pos = 0, lead
            # One loop per chunk over its flat (feature, word, span): nothing per word without features.
            try:
                for _, flat, _, _, n, ends, width in self._chunks:
                    if flat:
                        for f, k, span in flat:
                            if f in everything:
                                k += i
                                hits[f].append(pairs[k])
                                at[k] = pos + span
                    if ends:
                        for k in ends:
                            if k == COND:
                                cond = True
                            else:
                                starts.append(i + k)
                    i += n
                    pos += width
                break
            except IndexError:  # more than ``_NPAIRS`` words: pairs for all of this text's words, then again
                if pairs is not _PAIRS:
                    raise
                pairs = tuple((k, k) for k in range(sum(chunk[4] for chunk in self._chunks)))
        # The places hold when the text is its chunks joined by single white-space characters, with at most
        # one space before and after: then its length is the chunks' widths, less the last space.
        trail = 1 if text[-1:] == " " else 0
        self._at = at if len(text) == (pos >> 16) - 1 + trail and "\n" not in text else None
        self._starts = self._sentence_starts() if cond else starts
        self._hits, self._filter = hits, only
        return hits

    def _sentence_starts(self) -> list[int]:
        """The sentence starts, from a regex pass over the text (the documented split)."""
        starts: list[int] = []
        last: str | None = None  # the last word since the last sentence end
        i = 0
        for item in TOKEN_OR_END_RE.findall(self.norm.text):
            if item[0] in _END_CHARS:
                if item != "." or last is None or not _is_abbreviation(last):
                    starts.append(i)
                last = None
                continue
            last = item
            i += 1
        return starts

    @property
    def hits(self) -> dict[int, list[Occurrence]]:
        """Per feature id, the occurrences of the words that have it (increasing)."""
        if self._hits is None or self._filter is not None:
            self._scan()
        return self._hits  # type: ignore[return-value]

    @property
    def words(self) -> list[str]:
        if self._words is None:
            self._words = TOKEN_RE.findall(self.norm.text)
        return self._words

    @property
    def sentences(self) -> list[int]:
        """Sentence number of each word."""
        if self._hits is None:
            self._scan()
        out, n, starts = [], 0, self._starts
        for i in range(len(self.words)):
            while n < len(starts) and starts[n] <= i:
                n += 1
            out.append(n)
        return out

    def same_sentence(self, lo: int, hi: int) -> bool:
        """Words ``lo`` and ``hi`` (``lo <= hi``) stand in one sentence."""
        starts = self._starts
        return not starts or bisect_right(starts, lo) == bisect_right(starts, hi)

    def _start(self, k: int) -> int:
        """Character offset of word ``k`` in the normalized text.

        When the chunks are separated by single spaces (the common case), from the running sums of the
        chunks' word counts and lengths (:meth:`_chunk_ends`) and each chunk's word offsets: word ``k``
        is in the chunk where the running word count passes ``k``. Otherwise by ``str.find`` from the end
        of the previous word: only non-token characters stand between two words, so the first
        occurrence of word ``k`` after word ``k - 1`` is word ``k``.
        """
        spans = self._spans
        if spans is None:
            spans = self._spans = self._chunk_ends()
        if type(spans) is tuple:
            sums, lead = spans
            j = bisect_right(sums, k << _SHIFT | _MASK)
            piece = self._pieces[j]
            offsets = (_IN_CHUNK.get(piece) or _in_chunk(piece))[0]
            if j:
                before = sums[j - 1]
                return lead + (before & _MASK) + j + offsets[k - (before >> _SHIFT)]
            return lead + offsets[k]
        if k >= len(spans):
            words, find = self.words, self.norm.text.find
            j = len(spans)
            pos = spans[-1] + len(words[j - 1]) if j else 0  # type: ignore[operator]
            while j <= k:
                pos = find(words[j], pos)
                spans.append(pos)  # type: ignore[union-attr]
                pos += len(words[j])
                j += 1
        return spans[k]  # type: ignore[return-value,index]

    def _chunk_ends(self) -> tuple[list[int], int] | list[int]:
        """(running sums of the chunks' sizes — word count and length, see :data:`Chunk` —, number of
        leading spaces) when the text is its chunks joined by single spaces, with at most one space
        before and after; else an empty list (word offsets found one by one, see ``_start``)."""
        text = self.norm.text
        sums = list(accumulate(map(_size_of_chunk, self._chunks)))
        if not sums or "  " in text or len(text) != (sums[-1] & _MASK) + text.count(" ") or len(text) >= _MASK:
            return []  # other white space (newlines, tabs), runs of spaces, or very long
        return sums, 1 if text[0] == " " else 0

    def spans(self) -> list[tuple[int, int]]:
        """Character span of each word in the normalized text."""
        return [(st, st + len(w)) for st, w in zip(map(self._start, range(len(self.words))), self.words)]

    def evidences(self, windows: list[Occurrence | None]) -> list[str | None]:
        """:meth:`evidence` of each window (None stays None), in place: the set-up shared by the windows."""
        at = self._at
        if at is not None:  # the scan noted where its words stand (a window starts and ends at such words)
            norm = self.norm
            plain = norm._chars is None and norm._joins is None
            original = norm.original
            try:
                found = [None if w is None else (at[w[0]], at[w[1]]) for w in windows]
            except KeyError:  # (not a window of the scan's words: the general way below)
                pass
            else:
                for k, se in enumerate(found):
                    if se is not None:
                        first, last = se
                        start, end = first >> 16, (last >> 16) + (last & 0xFFFF)
                        windows[k] = original[start:end] if plain else _original_slice(norm, start, end)  # type: ignore[call-overload]
                return windows  # type: ignore[return-value]
        spans = self._spans
        if spans is None:
            spans = self._spans = self._chunk_ends()
        if type(spans) is not tuple:
            for k, w in enumerate(windows):
                if w is not None:
                    windows[k] = self.evidence(*w)  # type: ignore[call-overload]
            return windows  # type: ignore[return-value]
        sums, lead = spans
        pieces = self._pieces
        norm = self.norm
        plain = norm._chars is None and norm._joins is None
        original = norm.original
        for k, w in enumerate(windows):
            if w is None:
                continue
            start, end = _word_span(sums, lead, pieces, w[0], w[1])
            windows[k] = original[start:end] if plain else _original_slice(norm, start, end)  # type: ignore[call-overload]
        return windows  # type: ignore[return-value]

    def evidence(self, first: int, last: int) -> str:
        """The original text from word ``first`` to word ``last`` (inclusive)."""
        at = self._at
        if at is not None and first in at and last in at:
            start, end = at[first], at[last]
            return self.norm.original_slice(start >> 16, (end >> 16) + (end & 0xFFFF))
        spans = self._spans
        if spans is None:
            spans = self._spans = self._chunk_ends()
        if type(spans) is tuple:
            start, end = _word_span(spans[0], spans[1], self._pieces, first, last)
        else:
            start, end = self._start(first), self._start(last) + len(self.words[last])
        norm = self.norm
        if norm._chars is None and norm._joins is None:  # (``NormText.original_slice`` inlined)
            return norm.original[start:end]
        return _original_slice(norm, start, end)


def _word_span(sums: Sequence[int], lead: int, pieces: Sequence[str], first: int, last: int) -> tuple[int, int]:
    """Start of word ``first`` and end of word ``last`` in the normalized text, from the chunks' packed
    running sums (``_chunk_ends``)."""
    return _word_edge(sums, lead, pieces, first, 0), _word_edge(sums, lead, pieces, last, 1)


def _word_edge(sums: Sequence[int], lead: int, pieces: Sequence[str], word: int, side: int) -> int:
    """Where word ``word`` starts (``side`` 0) or ends (1): ``_start`` over the packed sums (24, 0xFFFFFF:
    ``_SHIFT``, ``_MASK``)."""
    j = bisect_right(sums, word << 24 | 0xFFFFFF)
    piece = pieces[j]
    table = (_IN_CHUNK.get(piece) or _in_chunk(piece))[side]
    if j:
        before = sums[j - 1]
        return lead + (before & 0xFFFFFF) + j + table[word - (before >> 24)]
    return lead + table[word]


def _original_slice(norm: NormText, start: int, end: int) -> str:
    """``norm.original_slice(start, end)`` for ``0 <= start < end <= len(norm.text)`` (a word span), with
    ``NormText._source`` and ``normalize._lookup`` inlined."""
    joins, chars = norm._joins, norm._chars
    i, k = start, end - 1
    if joins is not None:
        out0, src0, src_end = joins[bisect_right(joins, (i, _BIG)) - 1]
        if src_end < 0:
            i = src0 + i - out0
        else:
            i = src0
        out0, src0, src_end = joins[bisect_right(joins, (k, _BIG)) - 1]
        if src_end < 0:
            k = src0 + k - out0
        else:
            k = src0
    if chars is None:
        return norm.original[i:k + 1]
    out0, src0, src_end = chars[bisect_right(chars, (i, _BIG)) - 1]
    lo = src0 + i - out0 if src_end < 0 else src0
    out0, src0, src_end = chars[bisect_right(chars, (k, _BIG)) - 1]
    hi = src0 + k - out0 + 1 if src_end < 0 else src_end
    return norm.original[lo:hi]


_BIG = 1 << 62  # (``normalize._lookup``'s bound)
_IN_CHUNK: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {}


def _in_chunk(chunk: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Where each word of ``chunk`` starts and ends in it (remembered: chunks repeat)."""
    got = _IN_CHUNK.get(chunk)
    if got is None:
        if len(_IN_CHUNK) >= 20_000:
            _IN_CHUNK.clear()
        starts, ends, pos = [], [], 0
        for word in TOKEN_RE.findall(chunk):  # only non-word characters stand between two words
            pos = chunk.find(word, pos)
            starts.append(pos)
            pos += len(word)
            ends.append(pos)
        got = _IN_CHUNK[chunk] = (tuple(starts), tuple(ends))
    return got


def analyze(norm: NormText, index: WordIndex = WORDS) -> Analysis:
    """The word analysis of ``norm`` against ``index``."""
    return Analysis(norm, index.chunks)


def _analysis_of(msg: MessageView) -> Analysis:
    """The message's analysis, computed once and shared by every ``near`` rule (``MessageView.memo``)."""
    a = msg.memo.get("near")
    if a is None or a._memo is not WORDS.chunks:
        a = msg.memo["near"] = Analysis(msg.norm, WORDS.chunks)
    return a


# --------------------------------------------------------------------------- terms and slots


@dataclass(frozen=True, slots=True)
class Term:
    """A word pattern or a phrase of them (consecutive words): pattern ids, and for a phrase the feature
    of each word (a one-pattern feature)."""

    spec: str
    ids: tuple[int, ...]
    features: tuple[int, ...] = ()



def _phrase_occurrences(feats: tuple[int, ...], hits: dict[int, list[Occurrence]]) -> list[Occurrence]:
    """Where the phrase with word features ``feats`` occurs (every feature must be a key of ``hits``).

    One-word occurrences are the shared pairs of ``_PAIRS`` (below 512 words), so membership tests
    mostly compare identities."""
    first = hits[feats[0]]
    if len(feats) == 2:
        second = hits[feats[1]]
        return [(i, i + 1) for i, _ in first if (_PAIRS[i + 1] if i < _NPAIRS - 1 else (i + 1, i + 1)) in second]
    rest = [hits[f] for f in feats[1:]]
    k = len(rest)
    out = []
    for i, _ in first:
        for j, found in enumerate(rest, i + 1):
            if (j, j) not in found:
                break
        else:
            out.append((i, i + k))
    return out


def compile_term(spec: str, index: WordIndex = WORDS) -> Term:
    words = spec.split()
    if not words:
        raise ValueError("empty term")
    ids = tuple(index.add(w) for w in words)
    return Term(spec, ids, tuple(index.feature(frozenset({pid})) for pid in ids) if len(ids) > 1 else ())


@dataclass(frozen=True, slots=True)
class TermSet:
    """The terms of one slot (or of ``unless``): one-word terms as one feature (``single``: a word
    matching any of them), phrases as the features of their words.

    Phrases are looked for only when every word of one is present in the message: ``candidates``
    remembers, per set of this slot's phrase features present, which phrases those are (a small key:
    chat repeats the few combinations)."""

    single: int | None
    phrases: tuple[tuple[int, ...], ...]
    phrase_features: frozenset[int]  # every feature of every phrase's words
    anchors: frozenset[int]  # features of first words: a message holding none of them cannot contain a term
    key: tuple  # the same key, the same occurrences (cached per message)
    candidates: dict[frozenset[int], tuple[tuple[int, ...], ...]]

    @classmethod
    def of(cls, specs: Sequence[str], index: WordIndex = WORDS) -> TermSet:
        single: set[int] = set()
        phrases: list[tuple[int, ...]] = []
        for spec in specs:
            term = compile_term(spec, index)
            if len(term.ids) == 1:
                single.add(term.ids[0])
            elif term.features not in phrases:
                phrases.append(term.features)
        fsingle = index.feature(frozenset(single)) if single else None
        firsts = frozenset(f[0] for f in phrases)
        anchors = firsts | {fsingle} if fsingle is not None else firsts
        key = (fsingle, tuple(sorted(phrases)))
        return cls(fsingle, tuple(phrases), frozenset(chain.from_iterable(phrases)), anchors, key, {})

    def occurrences(self, a: Analysis) -> list[Occurrence]:
        """Where any term occurs: sorted, each (first word, last word) once. Do not modify the list."""
        hits = a.hits
        if self.phrase_features:
            present = self.phrase_features & a.present
            if present:
                cands = self.candidates.get(present)
                if cands is None:
                    cands = self._candidates(present)
                if cands:
                    return _merged(hits, (self.single if self.single in a.present else None, cands, self.key))
        return hits.get(self.single) or _NONE  # type: ignore[arg-type]

    def spec(self, present: frozenset[int]) -> Spec | None:
        """What the terms can match in a message whose features are ``present``: the one-word feature
        (if present) and the phrases whose every word is present; None if nothing."""
        single = self.single if self.single in present else None
        cands: tuple[tuple[int, ...], ...] = ()
        if self.phrase_features:
            found = self.phrase_features & present
            if found:
                cands = self.candidates.get(found) or self._candidates(found)
        if single is None and not cands:
            return None
        return single, cands, self.key

    def _candidates(self, present: frozenset[int]) -> tuple[tuple[int, ...], ...]:
        """The phrases whose every word's feature is in ``present``."""
        cands = tuple(f for f in self.phrases if present.issuperset(f))
        if len(self.candidates) >= 4096:
            self.candidates.clear()
        self.candidates[present] = cands
        return cands

_NONE: list[Occurrence] = []
_NO_STARTS: list[int] = []

#: A slot prepared for the features of a message (:meth:`TermSet.spec`): the one-word feature or None,
#: the candidate phrases, the slot's key.
Spec = tuple["int | None", "tuple[tuple[int, ...], ...]", tuple]
#: A rule prepared for the features of a message (:meth:`_Near.prepare`): its slots' specs, its guards'
#: spec, and the features the word scan may be limited to (the rule's own, or those of all the rules
#: past the gate, see :func:`_share`; None: all).
Prepared = tuple[tuple[Spec, ...], "Spec | None", "frozenset[int] | None"]


def _merged(hits: dict[int, list[Occurrence]], spec: Spec) -> list[Occurrence]:
    """Occurrences of a slot with candidate phrases: sorted, each once."""
    single, cands, _ = spec
    if len(cands) == 1:
        occ = _phrase_occurrences(cands[0], hits)
        if single is None:
            return occ
        if not occ:
            return hits[single]
        return sorted(hits[single] + occ)  # one-word and longer occurrences never coincide
    found = set(hits[single]) if single is not None else set()
    for feats in cands:
        found.update(_phrase_occurrences(feats, hits))
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
GATE_KEYS["near"] = lambda msg: _analysis_of(msg).key


def _share(prepared: list[Prepared]) -> list[Prepared]:
    """The ``near`` rules one combination of gate keys lets through (the engine's plan), prepared to
    scan only the features some of them can use: the words of a message carry the features of every
    rule (most words of a scam message half a dozen), the rules past the gate need a third of them."""
    shared = frozenset().union(*(only for _, _, only in prepared))
    return [(specs, guards, shared) for specs, guards, _ in prepared]


GATE_PLANS["near"] = _share


def _batch(fns: list[_Near], prepared: list[Prepared]) -> Callable[[MessageView], list[str | None]]:
    """One function for a run of ``near`` rules of a plan (``matchers.GATE_BATCHES``): per message, the
    evidence of each rule (``fn.evidence(msg, prepared)``), with the analysis looked up, the scan done and
    the slots' occurrence lists fetched once per message instead of once per rule. A scam message gets
    3–4 rules past the gate, so the per-rule calls and look-ups were a fifth of its time."""
    only = prepared[0][2]
    if any(p[2] is not only for p in prepared):  # not one shared scan (not ``_share``'s plan): rule by rule
        pairs = list(zip(fns, prepared))
        return lambda msg: [fn.evidence(msg, p) for fn, p in pairs]
    steps = []
    for fn, (specs, guards, _) in zip(fns, prepared):
        # per slot: the feature whose occurrence list is the slot's (no phrase), else its spec for ``_merged``
        slots = tuple((spec[0], None) if not spec[1] else (None, spec) for spec in specs)
        kind = 3 if fn.three else 2 if len(specs) == 2 else 0
        steps.append((fn, kind, slots, guards, (specs, guards, only)))
    plan = tuple(steps)

    def batch(msg: MessageView) -> list[str | None]:
        a = msg.memo.get("near")
        if a is None or a._memo is not WORDS.chunks:
            a = _analysis_of(msg)
        hits = a._hits
        if hits is None:
            hits = a._scan(only)
        elif a._filter is not None and a._filter is not only and (only is None or not only <= a._filter):
            hits = a._scan()  # scanned for other rules' features
        out: list[Occurrence | None] = []
        hit = False
        for fn, kind, slots, guards, prep in plan:
            if kind:  # two or three slots (unrolled: this loop runs per rule per message)
                if kind == 3:
                    (f0, m0), (f1, m1), third = slots
                else:
                    (f0, m0), (f1, m1) = slots
                o0 = hits[f0] if m0 is None else _merged(hits, m0)
                if not o0:
                    out.append(None)
                    continue
                o1 = hits[f1] if m1 is None else _merged(hits, m1)
                if not o1:
                    out.append(None)
                    continue
                if kind == 3:
                    f2, m2 = third
                    o2 = hits[f2] if m2 is None else _merged(hits, m2)
                    if not o2:
                        out.append(None)
                        continue
                    found = fn._first3(a, o0, o1, o2, guards)
                else:
                    found = fn._first2(a, o0, o1, guards)
            else:
                found = fn.window(a, prep)
            out.append(found)
            if found is not None:
                hit = True
        return a.evidences(out) if hit else out  # type: ignore[arg-type]

    return batch


GATE_BATCHES["near"] = _batch


def _candidates(occ: list[Occurrence], lo_lim: int, hi_lim: int, ps: int) -> Sequence[Occurrence] | None:
    """The occurrences within ``lo_lim..hi_lim``, nearest to word ``ps`` first (stable: equals keep their
    order), or None. May be ``occ`` itself: do not modify. Two occurrences (the common case after one)
    without building and sorting a list."""
    if len(occ) == 2:
        a, b = occ
        if a[0] >= lo_lim and a[1] <= hi_lim:
            if b[0] >= lo_lim and b[1] <= hi_lim:
                return (b, a) if abs(b[0] - ps) < abs(a[0] - ps) else occ
            return (a,)
        return (b,) if b[0] >= lo_lim and b[1] <= hi_lim else None
    if len(occ) == 1:
        o = occ[0]
        return occ if o[0] >= lo_lim and o[1] <= hi_lim else None
    cands = [o for o in occ if o[0] >= lo_lim and o[1] <= hi_lim]
    if not cands:
        return None
    if len(cands) == 2:
        if abs(cands[1][0] - ps) < abs(cands[0][0] - ps):
            cands.reverse()
    elif len(cands) > 2:
        cands.sort(key=lambda o: abs(o[0] - ps))
    return cands


@dataclass(frozen=True, slots=True)
class _Near:
    slots: tuple[TermSet, ...]
    anchors: tuple[frozenset[int], ...]
    unless: TermSet
    p: NearParams
    gate: str = "near"  # the engine skips this rule unless every anchor is present (matchers.GATES)
    three: bool = False  # three slots
    within: int = 8  # (``p``'s, at hand)
    ordered: bool = False
    sentence: bool = True
    unless_within: int = 3
    features: frozenset[int] = frozenset()  # every feature of the slots and guards
    prepared: dict = field(default_factory=dict)  # ``prepare``'s answers, per ``features & present``

    def __call__(self, msg: MessageView) -> tuple[Hit, ...]:
        found = self.evidence(msg)
        return () if found is None else (Hit(evidence=found),)

    def prepare(self, present: frozenset[int]) -> Prepared | None:
        """This rule's slots (and guards) prepared for messages whose gate keys (features) are
        ``present``, or None when no such message can match. The engine calls it once per distinct
        ``present`` (memoised with the gate) and passes the answer to :meth:`evidence`."""
        key = self.features & present  # what it depends on: few combinations, so remembered
        memo = self.prepared
        got = memo.get(key, memo)
        if got is not memo:
            return got  # type: ignore[return-value]
        specs = []
        got = None
        for slot in self.slots:
            spec = slot.spec(key)
            if spec is None:
                break
            specs.append(spec)
        else:
            guards = self.unless.spec(key)
            only: set[int] = set()
            for spec in (*specs, guards) if guards is not None else specs:
                if spec[0] is not None:
                    only.add(spec[0])
                for feats in spec[1]:
                    only.update(feats)
            got = tuple(specs), guards, frozenset(only)
        if len(memo) >= 4096:
            memo.clear()
        memo[key] = got  # type: ignore[assignment]
        return got  # type: ignore[return-value]

    def evidence(self, msg: MessageView, prepared: Prepared | None = None) -> str | None:
        """The evidence of this rule's hit on ``msg``, or None. ``prepared``: :meth:`prepare` of the
        message's features (the engine's gate memo), else computed here."""
        a = msg.memo.get("near")
        if a is None or a._memo is not WORDS.chunks:
            a = _analysis_of(msg)
        if prepared is None:
            prepared = self.prepare(a.present)
            if prepared is None:
                return None
        found = self.window(a, prepared)
        return None if found is None else a.evidence(*found)

    def window(self, a: Analysis, prepared: Prepared) -> Occurrence | None:
        """The first window (first word, last word) that satisfies the rule, or None."""
        specs, guards, only = prepared
        hits = a._hits
        if hits is None:
            hits = a._scan(only)
        elif a._filter is not None and a._filter is not only and (only is None or not only <= a._filter):
            hits = a._scan()  # scanned for other rules' features
        if self.three:
            s0, s1, s2 = specs
            o0 = _merged(hits, s0) if s0[1] else hits[s0[0]]  # type: ignore[index]
            if not o0:
                return None
            o1 = _merged(hits, s1) if s1[1] else hits[s1[0]]  # type: ignore[index]
            if not o1:
                return None
            o2 = _merged(hits, s2) if s2[1] else hits[s2[0]]  # type: ignore[index]
            if not o2:
                return None
            return self._first3(a, o0, o1, o2, guards)
        occ = []
        for spec in specs:
            found = _merged(hits, spec) if spec[1] else hits[spec[0]]  # type: ignore[index]
            if not found:
                return None
            occ.append(found)
        if len(occ) == 2:
            return self._first2(a, occ[0], occ[1], guards)
        for lo, hi in self._windows(occ):
            if self._accept(a, lo, hi, guards):
                return lo, hi
        return None

    def _guards(self, a: Analysis, spec: Spec | None) -> list[Occurrence]:
        if spec is None:
            return _NONE
        return _merged(a._hits, spec) if spec[1] else a._hits[spec[0]]  # type: ignore[index]

    def _accept(self, a: Analysis, lo: int, hi: int, guards: Spec | None) -> bool:
        """A window found by the search counts: in one sentence (unless ``sentence: false``), and no
        ``unless`` term within ``unless_within`` words of it."""
        if self.p.sentence:
            starts = a._starts
            if starts and bisect_right(starts, lo) != bisect_right(starts, hi):
                return False
        w = self.p.unless_within
        top, bottom = hi + w, lo - w
        for g_start, g_end in self._guards(a, guards):
            if g_start <= top and g_end >= bottom:
                return False
        return True

    # The window search: around each occurrence of the rarest slot (the first such slot), the other
    # slots' occurrences that fit in a window of ``within`` words with it, nearest first; the first
    # combination (slot 0 varying slowest) that is non-overlapping (in slot order when ``ordered``) and
    # spans at most ``within`` words is the first window, and the first window that ``_accept``s is the
    # rule's hit. ``_windows`` is the general form; ``_first2``/``_first3`` are the same search
    # unrolled for two and three slots, the acceptance inlined, trying the same windows in the same order.

    def _first2(self, a: Analysis, o0: list[Occurrence], o1: list[Occurrence], gspec: Spec | None) -> Occurrence | None:
        within, ordered = self.within, self.ordered
        starts = a._starts if self.sentence else None
        guards: list[Occurrence] | None = None
        pivot = len(o1) < len(o0)
        piv, others = (o1, o0) if pivot else (o0, o1)
        single = others[0] if len(others) == 1 else None
        for ps, pe in piv:
            if single is not None:  # (``_candidates`` inlined for one occurrence)
                if single[0] < pe - within + 1 or single[1] > ps + within - 1:
                    continue
                other = others
            else:
                other = _candidates(others, pe - within + 1, ps + within - 1, ps)
                if other is None:
                    continue
            for qs, qe in other:
                if pivot:
                    as_, ae, bs, be = qs, qe, ps, pe
                else:
                    as_, ae, bs, be = ps, pe, qs, qe
                lo = bs if bs < as_ else as_  # noqa: FURB136 (no call: hot loop)
                hi = be if be > ae else ae  # noqa: FURB136 (no call: hot loop)
                if hi - lo >= within:
                    continue
                if ordered:
                    if ae >= bs:
                        continue
                elif not (ae < bs or be < as_):
                    continue
                if starts and bisect_right(starts, lo) != bisect_right(starts, hi):
                    continue
                if guards is None:
                    guards = _NONE if gspec is None else _merged(a._hits, gspec) if gspec[1] else a._hits[gspec[0]]  # type: ignore[index]
                if guards:
                    top, bottom = hi + self.unless_within, lo - self.unless_within
                    for g_start, g_end in guards:
                        if g_start <= top and g_end >= bottom:
                            break
                    else:
                        return lo, hi
                    continue
                return lo, hi
        return None

    def _first3(self, a: Analysis, o0: list[Occurrence], o1: list[Occurrence],
                o2: list[Occurrence], gspec: Spec | None) -> Occurrence | None:
        within, ordered = self.within, self.ordered
        n0, n1, n2 = len(o0), len(o1), len(o2)
        pivot = 0
        if n1 < n0:
            pivot = 1
            if n2 < n1:
                pivot = 2
        elif n2 < n0:
            pivot = 2
        starts = a._starts if self.sentence else None
        guards: list[Occurrence] | None = None
        for ps, pe in (o0, o1, o2)[pivot]:
            lo_lim, hi_lim = pe - within + 1, ps + within - 1
            # (``_candidates`` inlined for a slot with one occurrence)
            if pivot == 0:
                c0 = ((ps, pe),)
            elif n0 == 1:
                c0 = o0 if o0[0][0] >= lo_lim and o0[0][1] <= hi_lim else None  # type: ignore[assignment]
            else:
                c0 = _candidates(o0, lo_lim, hi_lim, ps)  # type: ignore[assignment]
            if c0 is None:
                continue
            if pivot == 1:
                c1 = ((ps, pe),)
            elif n1 == 1:
                c1 = o1 if o1[0][0] >= lo_lim and o1[0][1] <= hi_lim else None
            else:
                c1 = _candidates(o1, lo_lim, hi_lim, ps)
            if c1 is None:
                continue
            if pivot == 2:
                c2 = ((ps, pe),)
            elif n2 == 1:
                c2 = o2 if o2[0][0] >= lo_lim and o2[0][1] <= hi_lim else None
            else:
                c2 = _candidates(o2, lo_lim, hi_lim, ps)
            if c2 is None:
                continue
            for as_, ae in c0:
                for bs, be in c1:
                    if ordered:
                        if ae >= bs:
                            continue
                    elif not (ae < bs or be < as_):
                        continue
                    lo01 = bs if bs < as_ else as_  # noqa: FURB136 (no call: hot loop)
                    hi01 = be if be > ae else ae  # noqa: FURB136 (no call: hot loop)
                    for cs, ce in c2:
                        lo = cs if cs < lo01 else lo01  # noqa: FURB136 (no call: hot loop)
                        hi = ce if ce > hi01 else hi01  # noqa: FURB136 (no call: hot loop)
                        if hi - lo >= within:
                            continue
                        if ordered:
                            if be >= cs:
                                continue
                        elif not ((ae < cs or ce < as_) and (be < cs or ce < bs)):
                            continue
                        if starts and bisect_right(starts, lo) != bisect_right(starts, hi):
                            continue
                        if guards is None:
                            guards = _NONE if gspec is None else _merged(a._hits, gspec) if gspec[1] else a._hits[gspec[0]]  # type: ignore[index]
                        if guards:
                            top, bottom = hi + self.unless_within, lo - self.unless_within
                            for g_start, g_end in guards:
                                if g_start <= top and g_end >= bottom:
                                    break
                            else:
                                return lo, hi
                            continue
                        return lo, hi
        return None

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


@matcher("near", "text", NearParams)
def _build_near(p: NearParams, res: Resources | None) -> TextFn:
    """Words from every slot close together (``within`` words, one sentence, optionally in order), unless
    a guard word stands near; terms are words, ``stem*`` or ``stem(end|end)``, or phrases of them."""
    slots = tuple(TermSet.of(slot) for slot in p.slots)
    unless = TermSet.of(p.unless)
    features = frozenset(f for t in (*slots, unless) for f in ((t.single,) if t.single is not None else ()) + tuple(t.phrase_features))
    return _Near(slots, tuple(s.anchors for s in slots), unless, p, "near", len(slots) == 3,
                 p.within, p.ordered, p.sentence, p.unless_within, features)
