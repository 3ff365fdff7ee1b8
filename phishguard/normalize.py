"""Text folding for keyword rules, with a map from the folded text back to the original.

Rules (regexes, "word A near word B") run on :attr:`NormText.text`; the evidence they show is cut
from :attr:`NormText.original` with :meth:`NormText.original_slice`.

>>> n = normalize_text("На б а л а н с е к-а-р-т-ы: ＣＶＶ, Aвитo\u200b-Дoстaвкa")
>>> n.text
'на балансе карты: cvv, авито-доставка'
>>> i = n.text.index("баланс")
>>> n.original_slice(i, i + len("баланс"))
'б а л а н с'

Stages, in order (every output character keeps the span of the source characters it came from):

1. characters: drop :data:`DROPPED` (zero-width, bidi controls, BOM, soft hyphen); NFKC; casefold;
   ``ё`` -> ``е``; other control characters -> space. Punctuation, digits, newlines are kept.
2. split letters: in a chain of single letters separated by one of `` .-_*·|/`` (a space may stand on
   either side) or by one space, each stretch of >= 3 letters with the *same* separator is joined:
   ``"б а л а н с е к-а-р-т-ы"`` -> ``"балансе карты"``, ``"C.V.V"`` -> ``"cvv"``. A chain that runs
   into a host name or address (``"x.y.z.com"``, ``"a.b.c@mail.ru"``) gives up its last letter.
3. scripts: a token (run of Latin/Cyrillic letters and ASCII digits) holding both scripts gets the
   lookalikes of the other script folded (:data:`LATIN_TO_CYRILLIC`, :data:`CYRILLIC_TO_LATIN`). The
   script is the one with more *unambiguous* letters in the token, else in the whole message, else
   Cyrillic. Single-script tokens are left as written (``"ok"``, ``"ор"``), except that a ``0``
   between Cyrillic letters becomes ``о`` (``"б0нус"``); other digits are never read as letters.

Text made only of ASCII, basic Cyrillic and common punctuation (« » — “ ” •) takes a fast path:
``str.lower`` and an identity offset map that is never materialised.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import repeat
from types import MappingProxyType

__all__ = ["CYRILLIC_TO_LATIN", "DROPPED", "LATIN_TO_CYRILLIC", "NormText", "fold_word", "normalize_text"]

#: Invisible characters removed first: zero-width and joiners, bidi controls, word joiner, BOM, soft hyphen.
DROPPED = frozenset(map(chr, [*range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2060, 0x206A),
                              0xFEFF, 0x00AD]))

#: Latin letters (casefolded) that pass for Cyrillic ones; applied in tokens decided Cyrillic.
#: Capital-only likenesses count because the decision comes after casefolding (B/В, H/Н, M/М, T/Т):
#: ``b`` -> ``в`` (a Latin b in a Cyrillic word is nearly always a capital B; ``ь`` is not mapped).
#: ``i`` -> ``і`` (Ukrainian/Belarusian), ``ë`` -> ``е`` (``ё`` is folded to ``е`` anyway).
LATIN_TO_CYRILLIC = MappingProxyType({
    "a": "а", "b": "в", "c": "с", "e": "е", "ë": "е", "h": "н", "i": "і", "k": "к", "m": "м",
    "o": "о", "p": "р", "t": "т", "x": "х", "y": "у",
})
#: Cyrillic letters (casefolded) that pass for Latin ones; applied in tokens decided Latin.
CYRILLIC_TO_LATIN = MappingProxyType({
    "а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c", "т": "t",
    "у": "y", "х": "x", "і": "i", "ј": "j", "ѕ": "s", "һ": "h", "ԁ": "d", "ӏ": "l", "ԛ": "q", "ԝ": "w",
    "ү": "y",
})

# Characters whose full folding is exactly str.lower() + "ё"->"е" and that never compose with each other
# (checked by the tests). Text made only of these skips the per-character machinery.
_SAFE_CHARS = "\t\n\r" + "".join(map(chr, range(0x20, 0x7F))) + "".join(map(chr, range(0x410, 0x450))) + "Ёё«»·°–—‘’“”„•"
_SAFE_BYTES = _SAFE_CHARS.encode("cp1251")
_UNSAFE_RE = re.compile(f"[^{re.escape(_SAFE_CHARS)}]+")
_POST_TABLE = MappingProxyType({**{c: " " for c in [*range(0x20), *range(0x7F, 0xA0)] if chr(c) not in "\t\n\r"},
                                ord("ё"): "е"})

_SEP_CHARS = " .-_*·|/"
_SEPCH = re.escape(_SEP_CHARS[1:])  # the separators other than space, for character classes
_SEP = rf"(?: ?[{_SEPCH}] ?| )"
_SPLIT_HINT_RE = re.compile(rf"[{_SEPCH} ][^\W\d_]{_SEP}[^\W\d_](?![^\W_])")  # 2nd+3rd letter of a chain
_CHAIN_RE = re.compile(rf"(?<![^\W_])(?<![{_SEPCH}@:])[^\W\d_](?:{_SEP}[^\W\d_](?![^\W_])){{2,}}")
_HOST_TAIL_RE = re.compile(rf"[{_SEPCH}@:][^\W_]")
#: In a chain, a run of two or more equal separators between letters: it starts right after a letter
#: (so at a whole separator) and the backreference keeps every further separator the same.
_RUN_RE = re.compile(rf"(?<=[^\W\d_])(?P<sep>[{re.escape(_SEP_CHARS)}]+)[^\W\d_](?:(?P=sep)[^\W\d_])+")

_CYR_RANGES = ((0x400, 0x482), (0x48A, 0x52F))  # Cyrillic + Supplement, without combining marks
_LAT_RANGES = ((0x41, 0x5A), (0x61, 0x7A), (0xC0, 0xD6), (0xD8, 0xF6), (0xF8, 0x2AF), (0x1E00, 0x1EFF))
_CYR_CLASS = "".join(f"{chr(a)}-{chr(b)}" for a, b in _CYR_RANGES)
_INNER_ZERO_RE = re.compile(f"(?<=[{_CYR_CLASS}])0(?=[{_CYR_CLASS}])")
#: In the merged classes of a text (C, L, z, d, space), a token holding both C and L: tried only where a
#: token starts, each branch reads the token once (possessive), so the search is linear.
_MIXED_TOKEN_RE = re.compile(r"(?<![^ ])(?:[^ CL]*+C[^ L]*+L|[^ CL]*+L[^ C]*+C)[^ ]*+")


_BREAKS_MAX = 1 << 17  # entries of the class table, breaks remembered included


class _Breaks(dict[int, str]):
    """A translate table in which every character not listed is a token break (space)."""

    def __missing__(self, key: int) -> str:
        if len(self) < _BREAKS_MAX:
            self[key] = " "  # remembered: a miss costs a Python call for every char of a long run
        return " "


def _build_classes() -> _Breaks:
    """Script class of each (case-insensitive) letter or digit: 'C'/'L' unambiguous Cyrillic/Latin,
    'c'/'l' lookalikes, 'z' for the digit 0, 'd' other ASCII digits; anything else is ' '.
    Lookalikes are both sides of the tables, so folding never changes a count of unambiguous letters
    (which keeps the whole normalization idempotent)."""
    table = _Breaks({ord(d): "d" for d in "123456789"} | {ord("0"): "z"})
    lookalikes = {*LATIN_TO_CYRILLIC, *LATIN_TO_CYRILLIC.values(), *CYRILLIC_TO_LATIN, *CYRILLIC_TO_LATIN.values()}
    for kind, ranges in (("C", _CYR_RANGES), ("L", _LAT_RANGES)):
        for lo, hi in ranges:
            for cp in range(lo, hi + 1):
                low = chr(cp).lower()
                low = "е" if low == "ё" else low if len(low) == 1 else chr(cp)
                table[cp] = kind.lower() if low in lookalikes else kind
    return table


def _str_table(mapping: MappingProxyType[str, str]) -> str:
    """An immutable ``str.translate`` table: a string indexed by code point (past its end: unchanged)."""
    chars = list(map(chr, range(max(map(ord, mapping)) + 1)))
    for src, dst in mapping.items():
        chars[ord(src)] = dst
    return "".join(chars)


_CLASSES = MappingProxyType(_build_classes())
_CP1251_CLASSES = bytes(ord(_CLASSES[ord(bytes([b]).decode("cp1251", "replace"))]) for b in range(256))
# letters the cp1251 shortcut cannot see (it turns them into "?", a token break)
_NON_CP1251_LETTER_RE = re.compile(
    f"[{re.escape(''.join(chr(cp) for cp in _CLASSES if chr(cp).encode('cp1251', 'replace') == b'?'))}]")
_TO_CYR = _str_table(LATIN_TO_CYRILLIC)
_TO_LAT = _str_table(CYRILLIC_TO_LATIN)


#: An offset map: (first output index, first source index, source end) per segment, sorted. Source end
#: -1 means one source char per output char (a copied stretch); otherwise every output char of the
#: segment comes from source[first source index:source end] (a folded unit, e.g. "ﬁ" -> "fi").
_Segments = tuple[tuple[int, int, int], ...]


def _lookup(segments: _Segments, i: int) -> tuple[int, int]:
    """Source span of output char ``i``."""
    out0, src0, src_end = segments[bisect_right(segments, (i, 1 << 62)) - 1]
    return (src0 + i - out0, src0 + i - out0 + 1) if src_end < 0 else (src0, src_end)


@dataclass(frozen=True, slots=True)
class NormText:
    """A message and its folded form.

    original: the text as received.
    text:     the folded form rules match on (see the module docstring).
    ``_chars`` maps stage-1 output to ``original`` and ``_joins`` maps ``text`` to stage-1 output
    (see :data:`_Segments`); None means identity.
    """

    original: str
    text: str
    _chars: _Segments | None = field(default=None, repr=False, compare=False)
    _joins: _Segments | None = field(default=None, repr=False, compare=False)

    def span_to_original(self, start: int, end: int) -> tuple[int, int]:
        """The smallest span of ``original`` holding every source char of ``text[start:end]``.

        >>> normalize_text("к-а-р-т-а").span_to_original(0, 5)
        (0, 9)
        """
        if not 0 <= start <= end <= len(self.text):
            raise ValueError(f"span {start}:{end} outside normalized text of length {len(self.text)}")
        if self._chars is None and self._joins is None:
            return start, end
        if start == len(self.text):
            return len(self.original), len(self.original)
        lo = self._source(start)[0]
        return (lo, lo) if start == end else (lo, self._source(end - 1)[1])

    def _source(self, i: int) -> tuple[int, int]:
        """Source span of ``text[i]``."""
        if self._joins is not None:
            i = _lookup(self._joins, i)[0]
        return (i, i + 1) if self._chars is None else _lookup(self._chars, i)

    def original_slice(self, start: int, end: int) -> str:
        """The original text behind ``text[start:end]``: the evidence to show a moderator."""
        lo, hi = self.span_to_original(start, end)
        return self.original[lo:hi]


def normalize_text(text: str) -> NormText:
    """Fold ``text`` for matching. Never raises.

    >>> normalize_text("Пoлучите oплату пo ссылкe, ＣＶＶ нe нужeн, б0нус").text
    'получите оплату по ссылке, cvv не нужен, бонус'
    >>> normalize_text("Ok, IKEA iPhone 15 — СДЭК или Boxberry, ЁЛКА, саrd").text
    'ok, ikea iphone 15 — сдэк или boxberry, елка, card'
    """
    chars = joins = classes = None
    try:
        raw = text.encode("cp1251")
    except UnicodeEncodeError:
        raw = None
    if raw is not None and not raw.translate(None, _SAFE_BYTES):
        folded = text.lower().replace("ё", "е")
        classes = raw.translate(_CP1251_CLASSES).decode("ascii")
    else:
        folded, chars = _fold_chars(text)
    if _SPLIT_HINT_RE.search(folded) is not None:
        joined = _join_split_letters(folded)
        if joined is not None:
            folded, joins = joined
            classes = None
    if classes is None:
        classes = _script_classes(folded)
    merged = classes.replace("l", "L").replace("c", "C")
    bare = merged.replace("z", "").replace("d", "")
    if "LC" in bare or "CL" in bare or "CzC" in merged:
        folded = _fold_scripts(folded, classes, merged)
    return NormText(text, folded, chars, joins)


def fold_word(word: str) -> str:
    """Fold a rule's keyword exactly as messages are folded.

    >>> fold_word("БАЛАНС"), fold_word("Сard"), fold_word("Ёмкость"), fold_word("кapта")
    ('баланс', 'card', 'емкость', 'карта')
    """
    return normalize_text(word).text


def _fold_piece(unit: str) -> str:
    """NFKC, casefold, ``ё`` and control folding of one base char and its marks, to a fixed point
    (casefold can un-normalize, e.g. U+0130 -> i + U+0307; ``ё`` -> ``е`` can compose, е + U+0306)."""
    folded = unicodedata.normalize("NFKC", unit)
    for _ in range(4):  # settles in one or two rounds
        again = unicodedata.normalize("NFKC", folded.casefold().translate(_POST_TABLE))
        if again == folded:
            break
        folded = again
    return folded


#: Kinds of chars in :class:`_OneCharFolds`: one that goes with the char before it (a dropped char or a
#: combining mark), and one that folds to several chars (or none), folded as a unit of its own.
_ATTACHING = "\x00"
_OWN_UNIT = "\x01"
_ONE_CHAR_MAX = 1 << 16  # code points remembered; the table starts afresh when full
_PLAIN_RUN_RE = re.compile(f"[^{_ATTACHING}{_OWN_UNIT}]+")
_ATTACHED_RUN_RE = re.compile(f"{_ATTACHING}+")
_DROPPED_CHARS = "".join(sorted(DROPPED))
_DROPPED_RUN_RE = re.compile(f"[{re.escape(_DROPPED_CHARS)}]+")
_DROP_TABLE = MappingProxyType(dict.fromkeys(map(ord, DROPPED)))


class _OneCharFolds(dict[int, str]):
    """A ``str.translate`` table filled on first use: each char's fold when it is one char of its own,
    else :data:`_ATTACHING` or :data:`_OWN_UNIT` — so a stretch of such chars folds in one C-level pass."""

    def __missing__(self, cp: int) -> str:
        if len(self) >= _ONE_CHAR_MAX:
            self.clear()
        c = chr(cp)
        if c in DROPPED or unicodedata.category(c)[0] == "M":
            kind = _ATTACHING
        else:
            piece = _COMMON_FOLDS.get(c) or _fold_piece(c)
            kind = piece if len(piece) == 1 and piece not in (_ATTACHING, _OWN_UNIT) else _OWN_UNIT
        self[cp] = kind
        return kind


_ONE_CHAR = _OneCharFolds()


def _continues(segments: list[tuple[int, int, int]], size: int, i: int) -> bool:
    """Whether source char ``i``, copied 1:1 to output index ``size``, continues the last copied stretch."""
    return bool(segments) and segments[-1][2] < 0 and segments[-1][1] + size - segments[-1][0] == i


def _unit(s: str, kinds: str, lo: int, i: int) -> tuple[str, int, int]:
    """The unit at ``s[i]`` (``kinds``: :data:`_ONE_CHAR` of ``s`` from ``lo``): the char and the combining
    marks after it, dropped chars skipped; the index of its last char kept; where the next unit starts."""
    attached = _ATTACHED_RUN_RE.match(kinds, i + 1 - lo)
    j = lo + attached.end() if attached is not None else i + 1
    tail = s[i + 1:j]
    marks = tail.translate(_DROP_TABLE) if _DROPPED_RUN_RE.search(tail) else tail  # (a miss costs an exception)
    return s[i] + marks, (i + len(tail.rstrip(_DROPPED_CHARS)) if marks else i), j


def _fold_chars(s: str) -> tuple[str, _Segments | None]:
    """Stage 1 for text with unsafe characters: safe stretches go through ``str.lower``; stretches of chars
    that fold to one char each and take no marks through one ``str.translate``; the rest is folded one unit
    (a base char and the combining marks after it, dropped chars skipped) at a time."""
    out: list[str] = []
    segments: list[tuple[int, int, int]] = []
    memo: dict[str, str] = {}
    pos = size = 0  # next source index, output length so far
    for run in _UNSAFE_RE.finditer(s):
        lo, hi = run.span()
        if lo > pos and (s[lo] in DROPPED or unicodedata.category(s[lo])[0] == "M"):
            lo -= 1  # a leading mark composes with the char before it
        if lo > pos:
            out.append(s[pos:lo].lower().replace("ё", "е"))
            segments.append((size, pos, -1))
            size += lo - pos
        kinds = s[lo:hi].translate(_ONE_CHAR)
        i = lo
        while i < hi:
            plain = _PLAIN_RUN_RE.match(kinds, i - lo)
            stop = lo + plain.end() if plain is not None else i
            if stop < hi and kinds[stop - lo] == _ATTACHING:
                stop -= 1  # the char before a mark folds with it, as a unit
            if stop > i:
                out.append(kinds[i - lo:stop - lo])
                if not _continues(segments, size, i):
                    segments.append((size, i, -1))
                size += stop - i
                i = stop
                continue
            if s[i] in DROPPED:
                i = _DROPPED_RUN_RE.match(s, i, hi).end()  # type: ignore[union-attr]
                continue
            unit, last, j = _unit(s, kinds, lo, i)
            piece = _COMMON_FOLDS.get(unit) or memo.get(unit)
            if piece is None:
                piece = memo[unit] = _fold_piece(unit)
            out.append(piece)
            if len(piece) != 1 or last != i:
                segments.append((size, i, last + 1))
            elif not _continues(segments, size, i):
                segments.append((size, i, -1))  # a 1:1 char that does not continue a copied stretch
            size += len(piece)
            i = j
        pos = hi
    if pos < len(s) or not segments:
        out.append(s[pos:].lower().replace("ё", "е"))
        segments.append((size, pos, -1))
    return "".join(out), None if segments == [(0, 0, -1)] else tuple(segments)


def _chains(t: str) -> Iterator[re.Match[str]]:
    """What ``_CHAIN_RE.finditer(t)`` finds, but only trying the regex near hint matches (a chain's first
    letter lies within 3 chars of one), which the regex engine finds much faster."""
    pos = 0
    while (hint := _SPLIT_HINT_RE.search(t, pos)) is not None:
        for start in range(max(hint.start() - 3, pos), hint.start() + 2):
            if (chain := _CHAIN_RE.match(t, start)) is not None:
                yield chain
                pos = chain.end()
                break
        else:
            pos = hint.start() + 1


#: Separators dropped inside one run of equal ones: (first separator's start, its length, how many);
#: the k-th starts ``k * (length + 1)`` after the first (one letter between two).
_Drops = tuple[int, int, int]


def _chain_drops(t: str, chain: re.Match[str]) -> Iterator[_Drops]:
    """The separators to drop in one chain of split letters.

    A run of equal separators joins its letters when it is the chain's last run and holds two or more
    separators (three letters), or, followed by another run, three or more: then its last separator
    stays, and the letter after it starts the next run (``"a b c-d-e"`` -> ``"a b cde"``). A chain that
    runs into a host name or address gives up its last letter (and the separator before it) first.
    """
    end = chain.end()
    if _HOST_TAIL_RE.match(t, end):
        end = chain.start() + len(t[chain.start():end - 1].rstrip(_SEP_CHARS))
    for run in _RUN_RE.finditer(t, chain.start(), end):
        width = len(run.group("sep"))
        count = (run.end() - run.start()) // (width + 1)
        if run.end() < end:
            count -= 1  # the last separator stays: the next run takes the letter after it
            if count < 2:
                continue
        yield run.start(), width, count


def _join_split_letters(t: str) -> tuple[str, _Segments] | None:
    """Stage 2: remove the separators inside split-letter stretches (None if nothing is joined).

    Runs are found by a regex and joined by slicing (``t[a:b:step]``), so a 64 KiB chain costs a few
    C-level passes, not a Python step per letter; the offset map keeps one segment per kept piece.
    """
    pieces: list[str] = []
    segments: list[tuple[int, int, int]] = []
    prev = size = 0
    for chain in _chains(t):
        for first, width, count in _chain_drops(t, chain):
            step = width + 1
            pieces.append(t[prev:first])  # up to the first dropped separator (the run's first letter)
            segments.append((size, prev, -1))
            size += first - prev
            inner = t[first + width:first + (count - 1) * step + 1:step]  # the letters between two drops
            pieces.append(inner)
            segments.extend(zip(range(size, size + len(inner)), range(first + width, first + count * step, step),
                                repeat(-1)))
            size += len(inner)
            prev = first + (count - 1) * step + width  # after the last dropped separator
    if not segments:
        return None
    pieces.append(t[prev:])
    segments.append((size, prev, -1))
    return "".join(pieces), tuple(segments)


def _script_classes(t: str) -> str:
    """One class char per char of ``t`` (see :func:`_build_classes`)."""
    if _NON_CP1251_LETTER_RE.search(t):
        return t.translate(_CLASSES)
    return t.encode("cp1251", "replace").translate(_CP1251_CLASSES).decode("ascii")


def _fold_scripts(t: str, classes: str, merged: str) -> str:
    """Stage 3: fold lookalikes in tokens that mix Latin and Cyrillic; ``0`` between Cyrillic letters."""
    message_c_wins = classes.count("C") >= classes.count("L")
    # tokens worth a look: those mixing the scripts (found by one regex, tried at token starts only) and
    # those holding a 0 between Cyrillic letters
    spans = {m.span() for m in _MIXED_TOKEN_RE.finditer(merged)}
    p = merged.find("CzC")
    while p >= 0:
        hi = merged.find(" ", p)
        hi = len(merged) if hi < 0 else hi
        spans.add((merged.rfind(" ", 0, p) + 1, hi))
        p = merged.find("CzC", hi)
    out: list[str] = []
    done = 0
    for lo, hi in sorted(spans):
        mixed = "C" in merged[lo:hi] and "L" in merged[lo:hi]
        if not mixed and "CzC" not in merged[lo:hi]:
            continue
        if hi < len(t) and t[hi] >= "\u0300" and unicodedata.category(t[hi])[0] == "M":
            hi -= 1  # a letter carrying a combining mark stays: folding it could make them compose
        strong_c, strong_l = classes.count("C", lo, hi), classes.count("L", lo, hi)
        cyrillic = not mixed or strong_c > strong_l or (strong_c == strong_l and message_c_wins)
        word = t[lo:hi].translate(_TO_CYR if cyrillic else _TO_LAT) if mixed else t[lo:hi]
        if cyrillic and "0" in word:
            word = _INNER_ZERO_RE.sub("о", word)
        out += (t[done:lo], word)
        done = hi
    out.append(t[done:])
    return "".join(out)


# one-char folds met in everyday chat (fullwidth ASCII, exotic spaces, …, №), computed once at import
_COMMON_FOLDS = MappingProxyType({c: _fold_piece(c) for c in map(chr, [
    0xA0, *range(0x2000, 0x200B), 0x202F, 0x205F, 0x3000, 0x2026, 0x2116, *range(0xFF01, 0xFF5F)])})
