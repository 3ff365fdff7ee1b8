"""Plain-language explanations (ru/en) of how a lookalike differs from the real name.

Every function returns a ``detail`` dict: ``{"ru": ..., "en": ..., <machine fields>}``. The verdict layer
prefixes it ("Это не avito.ru: первая буква — кириллическая «а»").
"""

from __future__ import annotations

import unicodedata

from .skeleton import LOOKALIKE_DIGITS, script_of

_ORD_RU = ["первая", "вторая", "третья", "четвёртая", "пятая", "шестая", "седьмая", "восьмая", "девятая",
           "десятая"]
_ORD_EN = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth"]
_SCRIPT_RU = {"Cyrillic": "кириллическая", "Greek": "греческая", "Armenian": "армянская",
              "Latin": "латинская", "Cherokee": "чероки", "Georgian": "грузинская",
              "Fullwidth": "широкая (полноширинная)", "Mathematical": "«математическая»"}
_VOWELS = frozenset("aeiouy")
# ASCII letters that look alike in small print
VISUAL_PAIRS = frozenset(frozenset(p) for p in ("bd", "ce", "gq", "mn", "uv", "ij", "nr", "il", "lt", "ao", "hb"))

# Physical key positions of three common layouts; neighbours are computed, not listed.
_LAYOUTS = (
    ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm"),
    ("1234567890", "qwertzuiop", "asdfghjkl", "yxcvbnm"),
    ("1234567890", "azertyuiop", "qsdfghjklm", "wxcvbn"),
)


def _neighbours() -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = {}
    for rows in _LAYOUTS:
        pos = {c: (r, i) for r, row in enumerate(rows) for i, c in enumerate(row)}
        for c, (r, i) in pos.items():
            for d, (r2, i2) in pos.items():
                # same row +-1, or the row above/below at the same or the next-left position
                if d != c and ((r2 == r and abs(i2 - i) == 1) or (abs(r2 - r) == 1 and i2 - i in (0, 1 if r2 < r else -1))):
                    out.setdefault(c, set()).add(d)
    return {k: frozenset(v) for k, v in out.items()}


KEYBOARD_NEIGHBOURS = _neighbours()


def ord_ru(i: int) -> str:
    return _ORD_RU[i] if i < len(_ORD_RU) else f"{i + 1}-я"


def ord_en(i: int) -> str:
    return _ORD_EN[i] if i < len(_ORD_EN) else f"{i + 1}th"


def _q(s: str) -> str:
    return f"«{s}»"


def _char_desc(c: str) -> tuple[str, str, str]:
    """(ru adjective phrase, en phrase, script) for a look-alike character."""
    sc = script_of(c)
    if sc == "Digit":
        return f"цифра {_q(c)}", f"the digit {_q(c)}", sc
    if sc == "Latin" and not c.isascii():
        if len(unicodedata.normalize("NFD", c)) > 1:
            return f"буква с надстрочным знаком {_q(c)}", f"the accented letter {_q(c)}", sc
        return f"похожая нелатинская на вид буква {_q(c)}", f"the look-alike letter {_q(c)}", sc
    if sc == "Latin":
        return f"латинская {_q(c)}", f"the Latin {_q(c)}", sc
    adj = _SCRIPT_RU.get(sc, f"{sc.lower()}")
    return f"{adj} {_q(c)}", f"a {sc} {_q(c)}", sc


def lookalike_chars(written: str, name: str) -> dict:
    """Explain a same-length look-alike: which letters were swapped for which look-alikes."""
    ru, en, chars = [], [], []
    if len(written) != len(name):
        return multi_char(written, name)
    for i, (w, n) in enumerate(zip(written, name)):
        if w == n:
            continue
        d_ru, d_en, sc = _char_desc(w)
        if sc == "Digit" or w.isascii():
            ru.append(f"{ord_ru(i)} буква {_q(n)} заменена: стоит {d_ru}")
            en.append(f"the {ord_en(i)} letter {_q(n)} is replaced by {d_en}")
        else:
            ru.append(f"{ord_ru(i)} буква — {d_ru}")
            en.append(f"the {ord_en(i)} letter is {d_en}")
        chars.append({"position": i + 1, "char": w, "expected": n, "script": sc,
                      "codepoint": f"U+{ord(w):04X}"})
    return {"ru": "; ".join(ru) or "написание совпадает с названием", "en": "; ".join(en) or "same spelling",
            "chars": chars, "class": "homoglyph"}


def multi_char(written: str, name: str) -> dict:
    pairs = (("rn", "m"), ("vv", "w"), ("cl", "d"))
    for a, b in pairs:
        if a in written and b in name:
            return {"ru": f"{_q(a)} вместо {_q(b)} — на вид почти одно и то же",
                    "en": f"{_q(a)} instead of {_q(b)}, which look almost the same",
                    "class": "homoglyph", "chars": [{"char": a, "expected": b}]}
    return {"ru": f"написано {_q(written)} вместо {_q(name)}", "en": f"{_q(written)} is written instead of {_q(name)}",
            "class": "homoglyph", "chars": []}


def _bitsquat(a: str, b: str) -> bool:
    x = ord(a) ^ ord(b)
    return x != 0 and x & (x - 1) == 0


def typo(written: str, name: str, distance: int) -> dict:
    """Explain a one- or two-edit typo of ``name`` (``written`` is ASCII, lower case)."""
    w = written.replace("-", "") if written.replace("-", "") != written and written.replace("-", "") == name else written
    if w != written:
        i = written.index("-")
        return {"ru": f"в название {_q(name)} вставлен дефис: {_q(written)}",
                "en": f"a hyphen is inserted into {_q(name)}: {_q(written)}",
                "class": "hyphenation", "position": i + 1, "distance": 1}
    lw, ln = len(w), len(name)
    if lw == ln - 1:
        for i in range(ln):
            if w == name[:i] + name[i + 1:]:
                return {"ru": f"пропущена {ord_ru(i)} буква {_q(name[i])}: {_q(w)} вместо {_q(name)}",
                        "en": f"the {ord_en(i)} letter {_q(name[i])} is missing: {_q(w)} instead of {_q(name)}",
                        "class": "omission", "position": i + 1, "char": name[i], "distance": 1}
    if lw == ln + 1:
        for i in range(lw):
            if name == w[:i] + w[i + 1:]:
                c = w[i]
                if (i > 0 and w[i - 1] == c) or (i + 1 < lw and w[i + 1] == c):
                    return {"ru": f"буква {_q(c)} повторена дважды: {_q(w)} вместо {_q(name)}",
                            "en": f"the letter {_q(c)} is doubled: {_q(w)} instead of {_q(name)}",
                            "class": "repetition", "position": i + 1, "char": c, "distance": 1}
                if i == lw - 1:
                    return {"ru": f"в конце названия {_q(name)} добавлена лишняя буква {_q(c)}",
                            "en": f"an extra {_q(c)} is added at the end of {_q(name)}",
                            "class": "addition", "position": i + 1, "char": c, "distance": 1}
                near = (i > 0 and c in KEYBOARD_NEIGHBOURS.get(w[i - 1], ())) or (
                    i + 1 < lw and c in KEYBOARD_NEIGHBOURS.get(w[i + 1], ()))
                return {"ru": f"вставлена лишняя буква {_q(c)} ({i + 1}-я по счёту): {_q(w)} вместо {_q(name)}",
                        "en": f"an extra letter {_q(c)} is inserted (position {i + 1}): {_q(w)} instead of {_q(name)}",
                        "class": "insertion", "keyboard": near, "position": i + 1, "char": c, "distance": 1}
    if lw == ln:
        diffs = [i for i in range(ln) if w[i] != name[i]]
        if len(diffs) == 2 and diffs[1] == diffs[0] + 1 and w[diffs[0]] == name[diffs[1]] and w[diffs[1]] == name[diffs[0]]:
            i = diffs[0]
            return {"ru": f"буквы {_q(name[i])} и {_q(name[i + 1])} переставлены местами: {_q(w)} вместо {_q(name)}",
                    "en": f"the letters {_q(name[i])} and {_q(name[i + 1])} are swapped: {_q(w)} instead of {_q(name)}",
                    "class": "transposition", "position": i + 1, "distance": 1}
        if len(diffs) == 1:
            i = diffs[0]
            a, b = name[i], w[i]
            if LOOKALIKE_DIGITS.get(b) == a or (a, b) in (("i", "l"), ("l", "i"), ("o", "0"), ("i", "1")):
                cls, ru_why, en_why = "lookalike", "похожий знак", "a look-alike character"
            elif frozenset((a, b)) in VISUAL_PAIRS:
                cls, ru_why, en_why = "visual", "похожая буква", "a similar-looking letter"
            elif a in _VOWELS and b in _VOWELS:
                cls, ru_why, en_why = "vowel-swap", "другая гласная", "a different vowel"
            elif b in KEYBOARD_NEIGHBOURS.get(a, ()):
                cls, ru_why, en_why = "keyboard", "соседняя клавиша", "the neighbouring key"
            elif _bitsquat(a, b):
                cls, ru_why, en_why = "bitsquat", "отличие в один бит", "a one-bit difference"
            else:
                cls, ru_why, en_why = "replacement", "другая буква", "a different letter"
            return {"ru": f"{ord_ru(i)} буква {_q(b)} вместо {_q(a)} ({ru_why}): {_q(w)} вместо {_q(name)}",
                    "en": f"the {ord_en(i)} letter is {_q(b)} instead of {_q(a)} ({en_why}): {_q(w)} instead of {_q(name)}",
                    "class": cls, "position": i + 1, "char": b, "expected": a, "distance": 1}
    n = "две буквы" if distance == 2 else "одну букву"
    return {"ru": f"{_q(w)} отличается от {_q(name)} на {n} — легко не заметить",
            "en": f"{_q(w)} differs from {_q(name)} by {distance} letter(s), easy to miss",
            "class": "edit-distance", "distance": distance}


def combo(name: str, words: list[str], digits: list[str], where_ru: str = "", where_en: str = "") -> dict:
    parts_ru, parts_en = [], []
    if words:
        parts_ru.append("слова " + ", ".join(_q(w) for w in words) if len(words) > 1 else "слово " + _q(words[0]))
        parts_en.append("the word(s) " + ", ".join(_q(w) for w in words))
    if digits:
        parts_ru.append("цифры " + ", ".join(_q(d) for d in digits))
        parts_en.append("the digits " + ", ".join(_q(d) for d in digits))
    added_ru = " и ".join(parts_ru) or "лишние символы"
    added_en = " and ".join(parts_en) or "extra characters"
    verb = "приписано" if len(words) + len(digits) == 1 and not (digits and not words) else "приписаны"
    return {"ru": f"к названию {_q(name)} {verb} {added_ru}{where_ru}",
            "en": f"{added_en} added to the name {_q(name)}{where_en}",
            "class": "combo", "words": list(words), "digits": list(digits)}
