"""Confusable skeletons (UTS #39 style) for host labels.

Two forms are used:

``skeleton(s)``
    one character in, one character out (positions stay aligned with the input, so evidence and
    explanations can point at the exact letter): lower case, every character that looks like a Latin
    letter or digit replaced by it (Cyrillic "а" -> "a", Greek "ο" -> "o", "ł" -> "l", fullwidth and
    mathematical letters -> ASCII), then the digits that look like letters: "0" -> "o", "1" -> "l".
``visual(s)``
    the skeleton folded further for comparisons only (not aligned): "i"/"|" -> "l", "rn" -> "m",
    "vv" -> "w", "cl" -> "d", hyphens removed.

Data, in order of precedence: our own Cyrillic/Greek/Latin-extended table (the letters Classiscam
kits actually use), NFKC, canonical decomposition without accents, and finally the Unicode
``confusables.txt`` data shipped in the ``confusable-homoglyphs`` package (optional: without it
the first three layers still cover Cyrillic, Greek, accents and fullwidth forms).

>>> skeleton("аvitо")        # Cyrillic а and о
'avito'
>>> skeleton("a11egro")
'allegro'
>>> visual("rnonobank"), visual("avlto"), visual("av-ito")
('monobank', 'avlto', 'avlto')
"""

from __future__ import annotations

import json
import unicodedata
from functools import lru_cache

__all__ = ["LOOKALIKE_DIGITS", "loose", "script_of", "skeleton", "visual"]

# Letters that look like Latin ones in lower-case sans-serif host names.
_OWN = {
    # Cyrillic
    "а": "a", "ь": "b", "с": "c", "ԁ": "d", "е": "e", "ё": "e", "ԍ": "g", "һ": "h", "і": "i",
    "ї": "i", "ј": "j", "к": "k", "ӏ": "l", "м": "m", "п": "n", "о": "o", "р": "p", "ԛ": "q",
    "г": "r", "ѕ": "s", "т": "t", "ѵ": "v", "ԝ": "w", "х": "x", "у": "y", "ү": "y", "є": "e",
    "ӧ": "o", "ӓ": "a", "ҫ": "c", "қ": "k", "ң": "h", "ʙ": "b",
    # Greek
    "α": "a", "β": "b", "γ": "y", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o",
    "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ϲ": "c", "ϳ": "j",
    # Latin letters with strokes/hooks that do not decompose
    "ł": "l", "đ": "d", "ħ": "h", "ø": "o", "ŧ": "t", "ƀ": "b", "ɨ": "i", "ʉ": "u", "ƶ": "z",
    "ɇ": "e", "ɍ": "r", "ɉ": "j", "ı": "i", "ȷ": "j", "ɑ": "a", "ɡ": "g", "ɩ": "i", "ᴄ": "c",
    "ᴏ": "o", "ᴜ": "u", "ᴠ": "v", "ᴡ": "w", "ᴢ": "z", "ʀ": "r", "ɪ": "i", "ᴋ": "k", "ᴍ": "m",
    "ɢ": "g", "ʏ": "y", "ɓ": "b", "ɗ": "d", "ɖ": "d", "ƈ": "c", "ƙ": "k", "ƥ": "p", "ƭ": "t",
    "ʂ": "s", "ʐ": "z", "ɦ": "h", "ɫ": "l", "ɱ": "m", "ŋ": "n", "ƴ": "y", "ɏ": "y", "ⱨ": "h",
    "ⱪ": "k", "ⱬ": "z", "ⱳ": "w", "ⱴ": "v", "ⱱ": "v", "ᶌ": "v", "ʠ": "q", "ɼ": "r", "ɽ": "r",
    "ɾ": "r", "ʝ": "j", "ƿ": "p", "ƅ": "b", "ꜱ": "s", "ꞑ": "n", "ĸ": "k", "ǥ": "g",
    "ƫ": "t", "ƒ": "f", "ß": "b", "ɐ": "a", "ɒ": "a", "ə": "a", "ә": "a",
}

#: ASCII digits that stand in for letters ("0lx", "a11egro").
LOOKALIKE_DIGITS = {"0": "o", "1": "l"}

_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")


@lru_cache(maxsize=1)
def _confusables() -> dict[str, str]:
    """char -> ASCII look-alike, from the Unicode confusables data in ``confusable-homoglyphs``."""
    try:
        from importlib.resources import files

        raw = json.loads(files("confusable_homoglyphs").joinpath("confusables.json").read_text("utf-8"))
    except (ImportError, FileNotFoundError, OSError, ValueError):  # optional data
        return {}
    out: dict[str, str] = {}
    for char, entries in raw.items():
        if len(char) != 1 or char.isascii():
            continue
        best = None
        for e in entries:
            c = e.get("c", "")
            if len(c) == 1 and c.isascii():
                lc = c.lower()
                if lc in _ALNUM and (best is None or (best.isdigit() and lc.isalpha())):
                    best = lc
        if best is not None:
            out[char] = LOOKALIKE_DIGITS.get(best, best)
    return out


def _map_char(c: str) -> str:
    if c in _OWN:
        return _OWN[c]
    k = unicodedata.normalize("NFKC", c).casefold()
    if len(k) == 1 and k.isascii():
        return LOOKALIKE_DIGITS.get(k, k)
    if len(k) == 1 and k in _OWN:
        return _OWN[k]
    base = unicodedata.normalize("NFD", k if len(k) == 1 else c)[0]
    if base.isascii() and base.isalnum():
        return LOOKALIKE_DIGITS.get(base.lower(), base.lower())
    return _confusables().get(c, _confusables().get(base, c))


class _Table(dict):
    """str.translate table that computes (and remembers) non-ASCII mappings on first use."""

    def __missing__(self, cp: int) -> str:
        v = _map_char(chr(cp))
        self[cp] = v
        return v


_TABLE = _Table({ord(k): v for k, v in LOOKALIKE_DIGITS.items()})
for _c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
    _TABLE[ord(_c)] = _c.lower()
for _c in "abcdefghijklmnopqrstuvwxyz23456789-._|":
    _TABLE[ord(_c)] = _c


def skeleton(s: str) -> str:
    """Aligned skeleton: ``len(skeleton(s)) == len(s)``."""
    return s.translate(_TABLE)


_VISUAL = str.maketrans({"i": "l", "|": "l", "-": None})


def visual(s: str) -> str:
    """Skeleton folded further for look-alike comparisons (not aligned with the input)."""
    v = skeleton(s).translate(_VISUAL)
    if "rn" in v:
        v = v.replace("rn", "m")
    if "vv" in v:
        v = v.replace("vv", "w")
    if "cl" in v:
        v = v.replace("cl", "d")
    return v


_LOOSE = str.maketrans({"u": "v", "d": "b", "e": "c", "q": "g", "n": "m"})


def loose(s: str) -> str:
    """:func:`visual` plus the ASCII look-alikes of small print (u/v, b/d, c/e, g/q, m/n, lb/b, lh/h).

    Only for exact comparisons of a whole label with a name of 5+ letters ("au1to" == "avito").

    >>> loose("au1to") == loose("avito"), loose("wildlberries") == loose("wildberries")
    (True, True)
    """
    v = visual(s)
    for a, b in (("lb", "b"), ("lh", "h"), ("lc", "k"), ("dl", "d"), ("nn", "m")):
        if a in v:
            v = v.replace(a, b)
    return v.translate(_LOOSE)


_SCRIPT_WORDS = ("CYRILLIC", "GREEK", "ARMENIAN", "LATIN", "FULLWIDTH", "MATHEMATICAL", "CHEROKEE",
                 "COPTIC", "GEORGIAN", "HEBREW", "ARABIC", "DIGIT")


@lru_cache(maxsize=4096)
def script_of(c: str) -> str:
    """Rough script of one character ("Cyrillic", "Greek", "Latin", "Digit", ...)."""
    if c.isascii():
        return "Digit" if c.isdigit() else "Latin"
    name = unicodedata.name(c, "")
    for w in _SCRIPT_WORDS:
        if w in name.split():
            return w.capitalize()
    return name.split(" ")[0].capitalize() if name else "Unknown"
