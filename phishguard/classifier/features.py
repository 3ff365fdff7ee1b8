"""Features shared by training (scikit-learn) and serving (numpy + mmh3): one definition of each input.

Both models read a *document* string and hash its n-grams the way scikit-learn's
:class:`~sklearn.feature_extraction.text.HashingVectorizer` does (signed 32-bit MurmurHash3, seed 0,
``index = abs(h) % n_features``, sign from ``h``, then l2 per block). The text model's document is
:func:`text_document` (the normalized message); the URL model's is :func:`host_document` (the host,
plus structural tokens such as length bucket, digit and hyphen counts, TLD, label depth and keywords).

>>> host_document("Allegro-Pl.Oferta-123.xyz").split(" ")[0]
'allegro-pl.oferta-123.xyz'
>>> "~tld:xyz" in host_document("allegro-pl.oferta-123.xyz")
True
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

__all__ = [
    "BlockSpec",
    "TEXT_BLOCKS",
    "HOST_BLOCKS",
    "text_document",
    "host_document",
    "host_parts",
    "char_wb_ngrams",
    "word_ngrams",
    "KEYWORDS",
]

#: sklearn's default ``token_pattern``; words of two or more word characters.
WORD_RE = re.compile(r"(?u)\b\w\w+\b")
#: Structural tokens of the host document: whitespace-separated, starting with ``~``.
STRUCT_RE = r"~\S+"
_WS2 = re.compile(r"\s\s+")

#: Words that phishing hosts use to look official (matched as substrings of the host).
KEYWORDS = (
    "login", "secure", "verify", "account", "update", "pay", "bank", "wallet", "support", "delivery",
    "dostav", "oplat", "safe", "deal", "order", "refund", "bonus", "gift", "confirm", "auth", "signin",
    "oferta", "paczk", "przesy", "odbi", "kurier", "track", "service", "help", "id", "online", "shop",
)


@dataclass(frozen=True, slots=True)
class BlockSpec:
    """One HashingVectorizer block: which analyzer, which n-gram range, which input column."""

    name: str
    analyzer: str  # "char_wb" or "word"
    ngram_range: tuple[int, int]
    token_pattern: str | None = None  # for "word": None = sklearn's default


TEXT_BLOCKS = (
    BlockSpec("char", "char_wb", (1, 5)),
    BlockSpec("word", "word", (1, 2)),
)
HOST_BLOCKS = (
    BlockSpec("char", "char_wb", (3, 5)),
    BlockSpec("struct", "word", (1, 1), STRUCT_RE),
)


def text_document(text: str) -> str:
    """The text model's input: the normalized message (folded, lowercase, obfuscation undone).

    >>> text_document("Пoлучите OПЛАТУ")
    'получите оплату'
    """
    from ..normalize import normalize_text

    return normalize_text(text).text


def char_wb_ngrams(doc: str, lo: int, hi: int) -> list[str]:
    """Character n-grams inside word boundaries, exactly as sklearn's ``char_wb`` analyzer.

    >>> char_wb_ngrams("ab c", 2, 3)
    [' a', 'ab', 'b ', ' ab', 'ab ', ' c', 'c ', ' c ']
    """
    out: list[str] = []
    for w in _WS2.sub(" ", doc).split():
        out.extend(word_char_ngrams(w, lo, hi))
    return out


def word_char_ngrams(word: str, lo: int, hi: int) -> list[str]:
    """The ``char_wb`` n-grams of one whitespace-free word (padded with one space each side)."""
    w = " " + word + " "
    n_w = len(w)
    out = []
    for n in range(lo, hi + 1):
        if n > n_w:  # sklearn still emits the whole padded word once when it is shorter than n
            out.append(w)
            break
        out.extend(w[i:i + n] for i in range(n_w - n + 1))
        if n_w - n + 1 == 1:
            break
    return out


def word_ngrams(doc: str, lo: int, hi: int, token_re: re.Pattern[str] = WORD_RE) -> list[str]:
    """Word n-grams joined by one space, exactly as sklearn's ``word`` analyzer.

    >>> word_ngrams("я оплатил товар", 1, 2)
    ['оплатил', 'товар', 'оплатил товар']
    """
    tokens = token_re.findall(doc)
    if hi == 1:
        return tokens
    out = list(tokens) if lo == 1 else []
    n_t = len(tokens)
    for n in range(max(lo, 2), min(hi, n_t) + 1):
        out.extend(" ".join(tokens[i:i + n]) for i in range(n_t - n + 1))
    return out


def host_parts(host: str) -> tuple[str, str]:
    """(host without a leading ``www.``, its top-level label), lowercase, trailing dot removed.

    >>> host_parts("WWW.Example.co.uk.")
    ('example.co.uk', 'uk')
    """
    h = host.strip().lower().rstrip(".")
    if h.startswith("www."):
        h = h[4:]
    return h, h.rsplit(".", 1)[-1]


def _bucket(n: int, edges: tuple[int, ...]) -> str:
    for e in edges:
        if n <= e:
            return str(e)
    return f"{edges[-1]}+"


def host_document(host: str) -> str:
    """The URL model's input: the host, then structural tokens (``~name:value``) after a space.

    Only the host is used — never the path (the phishing feeds have none, the benign URLs do: a model
    that saw paths would learn "has a path ⇒ benign").

    >>> host_document("olx-pl.delivery-24.top")
    'olx-pl.delivery-24.top ~len:24 ~labels:3 ~digits:2 ~hyphens:2 ~tld:top ~maxlab:12 ~entropy:4 ~dig-run:2 ~kw:delivery ~tldlen:3'
    """
    h, tld = host_parts(host)
    labels = h.split(".")
    digits = sum(c.isdigit() for c in h)
    hyph = h.count("-")
    longest = max((len(lab) for lab in labels), default=0)
    runs = re.findall(r"\d+", h)
    counts: dict[str, int] = {}
    for c in h:
        counts[c] = counts.get(c, 0) + 1
    ent = -sum(v / len(h) * math.log2(v / len(h)) for v in counts.values()) if h else 0.0
    toks = [
        f"~len:{_bucket(len(h), (6, 9, 12, 16, 20, 24, 30, 40, 60))}",
        f"~labels:{min(len(labels), 6)}",
        f"~digits:{_bucket(digits, (0, 1, 2, 4, 8))}",
        f"~hyphens:{min(hyph, 4)}",
        f"~tld:{tld}",
        f"~maxlab:{_bucket(longest, (4, 8, 12, 16, 24))}",
        f"~entropy:{round(ent)}",
        f"~dig-run:{_bucket(max((len(r) for r in runs), default=0), (0, 2, 4, 6))}",
    ]
    if h.startswith("xn--") or ".xn--" in h:
        toks.append("~idn")
    toks.extend(f"~kw:{k}" for k in KEYWORDS if k in h)
    toks.append(f"~tldlen:{min(len(tld), 6)}")
    return h + " " + " ".join(toks)
