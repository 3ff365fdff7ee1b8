"""Score with numpy only: the fitted weights of a Pipeline exported to ``.npz``, hashed with ``mmh3``.

Importing scikit-learn costs ~0.6 s and ~110 MB, so the scanner does not: :class:`LinearModel` holds
what :mod:`phishguard.classifier.export` took out of a fitted Pipeline (per block: hashing size and idf;
the linear weights; the sigmoid calibrators) and reproduces its ``predict_proba`` — the n-grams are the
same strings as scikit-learn's analyzers make, hashed with the same MurmurHash3 (signed, seed 0), so the
probabilities match to float rounding (``tests/test_classifier.py`` checks it).

Speed: the char n-grams of a word are hashed once and cached per word (chat repeats its words), as the bytes
of a machine-integer array plus the word's partial sums (see below); bytes, not ``array`` objects, because the
garbage collector does not track bytes: 200,000 cached arrays made every full collection of a service worker
tens of milliseconds longer. A batch is scored with a handful of numpy calls over all its messages at once.
:meth:`LinearModel.scored` keeps the batch's sparse tf-idf rows beside its probabilities, and
:meth:`LinearModel.explain` reads the words that pushed chosen rows most from those rows (one vectorized pass
for all of them), so an explanation never featurizes its message again.

One message (:meth:`LinearModel.scored_one`, the service's path for a request that arrives alone) is scored
and explained (:meth:`LinearModel.explain_one`) in plain Python from per-word partial sums instead. With
sublinear tf, a column met ``t`` times in a block of a message weighs ``(1 + ln t) * idf``; the block's
decision is ``sum(weight * coef) / sqrt(sum(weight ** 2))``. Each cached word carries ``sum(idf * coef)`` and
``sum(idf ** 2)`` over its n-grams, which are those sums when every column occurs once; a column met ``t > 1``
times is then corrected by ``(1 + ln t - t) * idf * coef`` and ``((1 + ln t) ** 2 - t) * idf ** 2``. The same
probabilities to ~1e-15, without numpy: on the realistic chat mix (``benchmarks/model_one.py``, 2-core AMD
EPYC) 30 µs a message instead of 35 with warm caches, and 120 instead of 190 with the caches flushed before
each message, which is how a worker meets a request that arrives alone (each numpy call then costs several
microseconds of cache misses).
"""

from __future__ import annotations

import json
import math
import re
import struct
from array import array
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mmh3
import numpy as np

from .card import ModelIntegrityError, read_card, verified_path
from .features import WORD_RE, _WS2, word_char_ngrams

__all__ = ["LinearModel", "Block", "One", "Scored", "decode_arrays", "load_numpy_model"]

#: Suffixes of an idf stored as its distinct values + a uint16 code per column (``export.encode_arrays``).
VALUES, CODES = "__values", "__codes"

_CACHE_MAX = 200_000
_COLUMNS_MAX = 50_000  # cached per-column data of repeated columns (proba_one); they are the frequent n-grams
_SHOWN_MAX = 50_000  # cached explainable words (each holds a small array: ~0.4 KB)
_PUNCT = ".,:;!?()[]«»\"'"
#: A cached unit that cannot be shown (link, number, n-gram of several words, structural token).
_NOT_SHOWN: tuple[str, np.ndarray, int] = ("", np.zeros(0, dtype=np.int64), 0)


def _index(token: str, n: int) -> int:
    """sklearn's FeatureHasher column for ``token`` (signed MurmurHash3 of the UTF-8, seed 0)."""
    return abs(mmh3.hash(token, 0, signed=True)) % n


class Block:
    """One hashed block of the feature union: analyzer, size, offset of its columns (its idf is in
    :class:`LinearModel`'s table)."""

    def __init__(self, spec: dict[str, Any], offset: int, sums: Callable[[np.ndarray], bytes]):
        self.name: str = spec["name"]
        self.analyzer: str = spec["analyzer"]
        self.lo, self.hi = spec["ngram_range"]
        self.n: int = int(spec["n_features"])
        self.token_re = re.compile(spec["token_pattern"]) if spec.get("token_pattern") else WORD_RE
        self.offset = offset
        self._sums = sums  # a unit's columns -> its partial sums (LinearModel.unit_sums)
        self._cache: dict[str, tuple[bytes, bytes]] = {}
        self._shown: dict[str, tuple[str, np.ndarray, int]] = {}

    def _unit(self, unit: str) -> tuple[bytes, bytes]:
        """(partial sums, column indices) of one word (char_wb) or one token n-gram (word): the sums as float64
        bytes (:meth:`LinearModel.unit_sums`), the columns with repeats as int32 bytes."""
        got = self._cache.get(unit)
        if got is None:
            if len(self._cache) >= _CACHE_MAX:
                self._cache.clear()
            n, off = self.n, self.offset
            grams = word_char_ngrams(unit, self.lo, self.hi) if self.analyzer == "char_wb" else (unit,)
            cols = np.array([off + _index(g, n) for g in grams], dtype=np.int32)
            got = self._cache[unit] = (self._sums(cols), cols.tobytes())
        return got

    def entries(self, doc: str) -> list[tuple[bytes, bytes]]:
        """:meth:`_unit` of each unit of ``doc``, in order."""
        cache = self._cache
        return [cache.get(u) or self._unit(u) for u in self.units(doc)]

    def units(self, doc: str) -> list[str]:
        """The cacheable pieces of a document: words for char_wb, token n-grams for word."""
        if self.analyzer == "char_wb":
            return _WS2.sub(" ", doc).split()
        tokens = self.token_re.findall(doc)
        if self.hi == 1:
            return tokens
        out = list(tokens) if self.lo == 1 else []
        for k in range(max(self.lo, 2), min(self.hi, len(tokens)) + 1):
            out.extend(" ".join(tokens[i:i + k]) for i in range(len(tokens) - k + 1))
        return out

    def columns(self, doc: str, out: array[int]) -> None:
        """Append the column indices (with repeats) of ``doc``'s n-grams in this block to ``out`` (int32)."""
        for _, cols in self.entries(doc):
            out.frombytes(cols)

    def shown_units(self, doc: str) -> list[str]:
        """The units of ``doc`` that can name a word: char_wb words, word-block single tokens (an n-gram of
        several tokens has a space, so it is never a word)."""
        if self.analyzer == "char_wb":
            return _WS2.sub(" ", doc).split()
        return self.token_re.findall(doc) if self.lo == 1 else []

    def shown(self, unit: str) -> tuple[str, np.ndarray, int]:
        """(the word a unit shows — letters only, punctuation stripped —, its distinct columns, how many), or
        :data:`_NOT_SHOWN` for a unit that is not a word; cached like :meth:`_unit`."""
        got = self._shown.get(unit)
        if got is None:
            if len(self._shown) >= _SHOWN_MAX:
                self._shown.clear()
            key = unit.strip(_PUNCT)
            cols = _distinct(np.frombuffer(self._unit(unit)[1], dtype=np.int32).astype(np.int64)) if key.isalpha() else None
            got = self._shown[unit] = (key, cols, len(cols)) if cols is not None else _NOT_SHOWN
        return got


@dataclass(frozen=True)
class _Features:
    """A sparse (documents x columns) tf-idf matrix, nonzeros sorted by (row, column)."""

    row: np.ndarray  # message index of each nonzero
    col: np.ndarray  # global column
    val: np.ndarray  # tf-idf, l2-normalized per block
    key: np.ndarray  # row * n_total + col, ascending: finds a (row, column) nonzero by searchsorted


@dataclass(frozen=True)
class Scored:
    """Class probabilities of some documents, with the tf-idf rows they came from (for :meth:`LinearModel.explain`)."""

    docs: list[str]  # as given
    proba: np.ndarray  # (documents, classes)
    features: _Features


@dataclass(frozen=True)
class One:
    """One document scored by :meth:`LinearModel.scored_one`: its probabilities, and for an explanation the
    document as read (lower-cased), each block's l2 norm and the weight ``1 + ln t`` of each repeated column."""

    doc: str
    proba: list[float]
    norms: list[float]
    repeated: dict[int, float]


class LinearModel:
    """A calibrated linear classifier over hashed tf-idf blocks, scored with numpy.

    ``predict_proba(docs)`` returns one row per document and one column per class (``classes``), like
    the Pipeline it was exported from.
    """

    def __init__(self, params: dict[str, Any], arrays: dict[str, np.ndarray], version: str = ""):
        self.params = params
        self.version = version
        self.classes: list[str] = list(params["classes"])
        self.lowercase = bool(params.get("lowercase", True))
        self.blocks: list[Block] = []
        offset = 0
        for spec in params["blocks"]:
            self.blocks.append(Block(spec, offset, self.unit_sums))
            offset += int(spec["n_features"])
        if offset >= 1 << 31:
            raise ModelIntegrityError(f"{offset} hashed columns: more than int32 column indices hold")
        self.n_total = offset
        n_est = arrays["intercept"].shape[0]
        # Most hashed columns have no weight: keep only the nonzero rows (column -> row index, row 0 all
        # zeros) instead of a dense (columns x outputs) float64 matrix — the same values, ~6x less memory.
        nonzero = np.asarray(arrays["coef_idx"], dtype=np.int64)
        self.coef_row = np.zeros(offset, dtype=np.int32)
        self.coef_row[nonzero] = np.arange(1, len(nonzero) + 1, dtype=np.int32)
        self.coef_rows = np.vstack([np.zeros((1, n_est)), np.asarray(arrays["coef_val"], dtype=np.float64).T])
        self.n_outputs = n_est
        self.intercept = arrays["intercept"].astype(np.float64)
        self.cal_a = arrays["cal_a"].astype(np.float64)
        self.cal_b = arrays["cal_b"].astype(np.float64)
        # The idf of column c is ``idf_values[idf_codes[c]]``: a few thousand distinct floats (one per document
        # frequency) and a uint16 per column, 1 MB per model instead of 4.2 MB of float64 (the same floats).
        self.idf_values, self.idf_codes = _compact_idf([_block_idf(arrays, b.name) for b in self.blocks])
        self.block_of = np.concatenate([np.full(b.n, i, dtype=np.int8) for i, b in enumerate(self.blocks)])
        # proba_one in plain Python: the calibrators and intercepts as floats; per repeated column, its data
        self._intercept = self.intercept.tolist()
        self._cal = list(zip(self.cal_a.tolist(), self.cal_b.tolist()))
        self._column_data: dict[int, tuple[int, float, list[float]]] = {}

    def idf(self, cols: np.ndarray) -> np.ndarray:
        """The idf of columns ``cols`` (float64)."""
        return self.idf_values[self.idf_codes[cols]]

    def coef(self, cols: np.ndarray) -> np.ndarray:
        """The coefficients of columns ``cols``: (len(cols), estimator outputs)."""
        return self.coef_rows[self.coef_row[cols]]

    def clear_caches(self) -> None:
        """Forget the columns cached per word (a benchmark times a scan as if every word were new to it)."""
        for b in self.blocks:
            b._cache.clear()
            b._shown.clear()
        self._column_data.clear()

    def unit_sums(self, cols: np.ndarray) -> bytes:
        """A unit's partial sums over its n-gram columns ``cols`` (with repeats), as float64 bytes:
        ``sum(idf ** 2)``, then ``sum(idf * coef)`` per estimator output."""
        idf = self.idf(cols)
        out = np.empty(self.n_outputs + 1)
        out[0] = idf @ idf
        out[1:] = idf @ self.coef(cols)
        return out.tobytes()

    def _column(self, col: int) -> tuple[int, float, list[float]]:
        """(block index, idf, idf * coef per output) of one column, cached (for :meth:`proba_one`'s corrections)."""
        got = self._column_data.get(col)
        if got is None:
            if len(self._column_data) >= _COLUMNS_MAX:
                self._column_data.clear()
            cols = np.array([col], dtype=np.int64)
            idf = float(self.idf(cols)[0])
            got = self._column_data[col] = (int(self.block_of[col]), idf, (self.coef(cols)[0] * idf).tolist())
        return got

    # ------------------------------------------------------------------ one document, plain Python

    def proba_one(self, doc: str) -> list[float]:
        """``predict_proba([doc])[0]`` as a list, computed from the words' cached partial sums plus a correction
        for each column met more than once (see the module doc); equal to it within ~1e-15."""
        return self.scored_one(doc).proba

    def scored_one(self, doc: str) -> One:
        """:meth:`proba_one` with what :meth:`explain_one` reads afterwards."""
        if self.lowercase:
            doc = doc.lower()
        n1 = self.n_outputs + 1
        sums: list[list[float]] = []
        cols: array[int] = array("i")
        for b in self.blocks:
            entries = b.entries(doc)
            if not entries:
                sums.append([0.0] * n1)
                continue
            heads, units = zip(*entries)
            flat = memoryview(b"".join(heads)).cast("d")
            sums.append([sum(flat[k::n1]) for k in range(n1)])
            cols.frombytes(b"".join(units))
        log = math.log
        repeated: dict[int, float] = {}  # column met t > 1 times -> its weight 1 + ln t
        for col, t in Counter(cols).items():
            if t > 1:
                block, idf, pushes = self._column(col)
                w = repeated[col] = 1.0 + log(t)
                row = sums[block]
                row[0] += (w * w - t) * idf * idf
                f = w - t
                for k, push in enumerate(pushes, 1):
                    row[k] += f * push
        d = list(self._intercept)
        norms = []
        for row in sums:
            norm = math.sqrt(row[0]) if row[0] > 0.0 else 0.0
            norms.append(norm)
            if norm:
                for k in range(len(d)):
                    d[k] += row[k + 1] / norm
        return One(doc, self._calibrated_one(d), norms, repeated)

    def explain_one(self, one: One, label: str, k: int = 3) -> list[str]:
        """:meth:`explain` of a document scored by :meth:`scored_one`, in plain Python: a word occurrence's push
        is its cached sum for ``label``, corrected for its repeated columns, over its block's norm."""
        out_k = self.classes.index(label) if self.n_outputs > 1 else 0
        repeated = one.repeated
        push: dict[str, float] = {}
        for b, norm in zip(self.blocks, one.norms):
            if not norm:
                continue
            for u in b.shown_units(one.doc):
                key = u.strip(_PUNCT)
                if not key.isalpha():
                    continue
                head, cols = b._unit(u)
                value = struct.unpack_from("d", head, 8 * (out_k + 1))[0]
                if repeated:
                    seen: dict[int, int] = {}
                    for c in memoryview(cols).cast("i"):
                        if c in repeated:
                            seen[c] = seen.get(c, 0) + 1
                    for c, m in seen.items():
                        value += (repeated[c] - m) * self._column(c)[2][out_k]
                push[key] = push.get(key, 0.0) + value / norm
        ranked = sorted((w for w in push if push[w] > 0), key=lambda w: -push[w])  # stable: ties in text order
        return ranked[:k]

    def _calibrated_one(self, d: list[float]) -> list[float]:
        """:meth:`_calibrated` of one row of decision values, in plain Python."""
        exp = math.exp
        p = [1.0 / (1.0 + exp(a * x + b)) for (a, b), x in zip(self._cal, d)]
        if len(self.classes) == 2:
            proba = [1.0 - p[0], p[0]]
        else:
            den = sum(p)
            proba = [x / den for x in p] if den != 0 else [1.0 / len(p)] * len(p)
        return [1.0 if 1.0 < x <= 1.0 + 1e-5 else x for x in proba]

    # ------------------------------------------------------------------ features

    def features(self, docs: list[str]) -> _Features:
        """Sparse tf-idf rows of ``docs`` (sublinear tf, idf, l2 per block), as sklearn computes them."""
        cols: array[int] = array("i")
        sizes: list[int] = []
        for doc in docs:
            if self.lowercase:
                doc = doc.lower()
            before = len(cols)
            for b in self.blocks:
                b.columns(doc, cols)
            sizes.append(len(cols) - before)
        n_total = self.n_total
        rows = np.repeat(np.arange(len(docs), dtype=np.int64), sizes)
        key = rows * n_total + np.frombuffer(cols, dtype=np.int32)
        key, tf = np.unique(key, return_counts=True)
        row, col = np.divmod(key, n_total)
        val = (np.log(tf) + 1.0) * self.idf(col)
        # l2 norm per (message, block)
        nb = len(self.blocks)
        grp = row * nb + self.block_of[col]
        sq = np.bincount(grp, weights=val * val, minlength=len(docs) * nb)
        norm = np.sqrt(sq)
        val = val / norm[grp]
        return _Features(row, col, val, key)

    def _features_one(self, doc: str) -> _Features:
        """:meth:`features` for one document, with fewer numpy calls (the single-message latency path)."""
        if self.lowercase:
            doc = doc.lower()
        cols: array[int] = array("i")
        for b in self.blocks:
            b.columns(doc, cols)
        if not cols:
            empty = np.zeros(0, np.int64)
            return _Features(empty, empty, np.zeros(0), empty)
        col, tf = np.unique(np.frombuffer(cols, dtype=np.int32).astype(np.int64), return_counts=True)
        val = (np.log(tf) + 1.0) * self.idf(col)
        block = self.block_of[col]
        val /= np.sqrt(np.bincount(block, weights=val * val, minlength=len(self.blocks)))[block]
        return _Features(np.zeros(len(col), dtype=np.int64), col, val, col)

    def decision(self, f: _Features, n_docs: int) -> np.ndarray:
        """Raw decision values, shape (n_docs, n_estimator_outputs)."""
        if n_docs == 1:
            return (f.val @ self.coef(f.col) + self.intercept)[None, :]
        contrib = self.coef(f.col) * f.val[:, None]
        out = np.empty((n_docs, self.n_outputs))
        for k in range(out.shape[1]):
            out[:, k] = np.bincount(f.row, weights=contrib[:, k], minlength=n_docs)
        return out + self.intercept

    def predict_proba(self, docs: list[str]) -> np.ndarray:
        """Calibrated class probabilities, one row per document."""
        return self.scored(docs).proba

    def scored(self, docs: list[str]) -> Scored:
        """:meth:`predict_proba` that also keeps the documents' tf-idf rows, to :meth:`explain` any of them."""
        docs = list(docs)
        if not docs:
            empty = np.zeros(0, np.int64)
            return Scored(docs, np.zeros((0, len(self.classes))), _Features(empty, empty, np.zeros(0), empty))
        f = self._features_one(docs[0]) if len(docs) == 1 else self.features(docs)
        return Scored(docs, self._calibrated(self.decision(f, len(docs))), f)

    def _calibrated(self, d: np.ndarray) -> np.ndarray:
        """Class probabilities from raw decision values (the sigmoid calibrators, then normalized)."""
        p = 1.0 / (1.0 + np.exp(self.cal_a * d + self.cal_b))
        if len(self.classes) == 2:
            proba = np.column_stack([1.0 - p[:, 0], p[:, 0]])
        else:
            den = p.sum(axis=1, keepdims=True)
            proba = np.divide(p, den, out=np.full_like(p, 1.0 / p.shape[1]), where=den != 0)
        proba[(proba > 1.0) & (proba <= 1.0 + 1e-5)] = 1.0
        return proba

    def score(self, docs: list[str], label: str) -> np.ndarray:
        """Probability of ``label`` for each document."""
        return self.predict_proba(docs)[:, self.classes.index(label)]

    def top_terms(self, doc: str, label: str, k: int = 3) -> list[str]:
        """The words (char_wb blocks) or tokens (word blocks) of ``doc`` that push it most towards ``label``
        (:meth:`explain` of a batch of one)."""
        return self.explain(self.scored([doc]), [0], label, k)[0]

    def explain(self, scored: Scored, rows: Sequence[int], label: str, k: int = 3) -> list[list[str]]:
        """For each of ``rows`` of ``scored``, the ``k`` words of its document that push it most towards
        ``label``, strongest first (ties: first in the text first); only words with a positive push.

        A word's push is the sum, over its occurrences, of the contributions of its distinct n-gram columns
        (tf-idf value of the row x coefficient of ``label``'s output), read from the rows already computed —
        a moderator sees words that are in the text, not hash buckets.
        """
        words, key_row, cols, key_of_col = self._shown_columns(scored.docs, rows)
        if not words:
            return [[] for _ in rows]
        f = scored.features
        out_k = self.classes.index(label) if self.n_outputs > 1 else 0
        if len(rows) == 1:  # the single-message path: fewer numpy calls
            pos = np.searchsorted(f.key, cols + rows[0] * self.n_total)
        else:
            pos = np.searchsorted(f.key, np.asarray(rows, dtype=np.int64)[key_row[key_of_col]] * self.n_total + cols)
        push = np.bincount(key_of_col, weights=f.val[pos] * self.coef(cols)[:, out_k], minlength=len(words))
        if len(rows) == 1:
            return [[words[i] for i in np.argsort(-push, kind="stable")[:k].tolist() if push[i] > 0]]
        return self._ranked(words, key_row, push, len(rows), k)

    def _shown_columns(
        self, docs: list[str], rows: Sequence[int]
    ) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
        """The distinct words of each of ``rows`` (in order of first occurrence), the position in ``rows`` of
        each word's row, and for each occurrence of a word its distinct columns with the word's index."""
        words: list[str] = []
        key_row: list[int] = []
        parts: list[np.ndarray] = []
        owner: list[int] = []
        sizes: list[int] = []
        for j, r in enumerate(rows):
            doc = docs[r].lower() if self.lowercase else docs[r]
            index: dict[str, int] = {}
            for b in self.blocks:
                cache = b._shown
                for u in b.shown_units(doc):
                    key, ucols, size = cache.get(u) or b.shown(u)
                    if size:
                        owner.append(index.setdefault(key, len(words) + len(index)))
                        parts.append(ucols)
                        sizes.append(size)
            words.extend(index)
            key_row.extend([j] * len(index))
        if not parts:
            empty = np.zeros(0, np.int64)
            return [], empty, empty, empty
        key_of_col = np.repeat(np.asarray(owner, dtype=np.int64), sizes)
        return words, np.asarray(key_row, dtype=np.int64), np.concatenate(parts), key_of_col

    @staticmethod
    def _ranked(words: list[str], key_row: np.ndarray, push: np.ndarray, n_rows: int, k: int) -> list[list[str]]:
        """Per row, its ``k`` words of largest positive push (ties in the order of the words)."""
        cand = np.flatnonzero(push > 0)
        cand = cand[np.lexsort((cand, -push[cand], key_row[cand]))]
        grp = key_row[cand]
        rank = np.arange(len(cand)) - np.searchsorted(grp, grp)
        out: list[list[str]] = [[] for _ in range(n_rows)]
        for g, j in zip(cand[rank < k].tolist(), grp[rank < k].tolist()):
            out[j].append(words[g])
        return out

    def top_ngrams(self, doc: str, label: str, k: int = 3) -> list[str]:
        """The character n-grams of ``doc`` (char_wb blocks) that push it most towards ``label``,
        longest first among overlapping ones, without the word-boundary spaces."""
        if self.lowercase:
            doc = doc.lower()
        f = self.features([doc])
        out_k = self.classes.index(label) if self.n_outputs > 1 else 0
        weight = dict(zip(f.col.tolist(), (f.val * self.coef(f.col)[:, out_k]).tolist()))
        scored: dict[str, float] = {}
        for b in self.blocks:
            if b.analyzer != "char_wb":
                continue
            for u in b.units(doc):
                for g in word_char_ngrams(u, b.lo, b.hi):
                    w = weight.get(b.offset + _index(g, b.n), 0.0)
                    g = g.strip()
                    if w > 0 and len(g) >= 2:
                        scored[g] = max(scored.get(g, 0.0), w)
        out: list[str] = []
        for g, _ in sorted(scored.items(), key=lambda kv: -kv[1]):
            if not any(g in o or o in g for o in out):
                out.append(g)
            if len(out) == k:
                break
        return out


def _distinct(a: np.ndarray) -> np.ndarray:
    """``np.unique(a)`` of a 1-d array: sorted distinct values (without ``np.unique``'s masked-array check,
    whose first use imports ``numpy.ma``: ~5 ms and ~1.5 MB in every worker)."""
    s = np.sort(a)
    return s[np.concatenate(([True], s[1:] != s[:-1]))] if len(s) > 1 else s


def _block_idf(arrays: dict[str, np.ndarray], name: str) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """A block's idf as given: float64 per column, or (distinct values, uint16 code per column) as stored."""
    key = f"idf_{name}"
    if key + VALUES in arrays:
        return arrays[key + VALUES], arrays[key + CODES]
    return arrays[key]


def _compact_idf(parts: list[np.ndarray | tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """(values, codes) of the blocks' idf end to end: float64 distinct values, one uint16 code per column.
    Stored parts are joined as they are (their codes shifted); a float64 part is encoded here (``np.unique``)."""
    pairs: list[tuple[np.ndarray, np.ndarray]] = []
    for part in parts:
        if isinstance(part, tuple):
            pairs.append((np.asarray(part[0], dtype=np.float64), np.asarray(part[1])))
        else:
            pairs.append(np.unique(np.asarray(part, dtype=np.float64), return_inverse=True))
    n_values = sum(len(v) for v, _ in pairs)
    codes = np.empty(sum(len(c) for _, c in pairs), dtype=np.uint16 if n_values <= 1 << 16 else np.uint32)
    shift = start = 0
    for v, c in pairs:  # shifted in place, in the codes' own width (no int64 temporaries: ~3 ms a model)
        np.add(c, codes.dtype.type(shift), out=codes[start : start + len(c)], casting="unsafe")
        shift += len(v)
        start += len(c)
    return np.concatenate([v for v, _ in pairs]), codes


def decode_arrays(stored: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The arrays ``export.export_arrays`` made, from those stored in the ``.npz`` (an idf stored as values +
    codes is rebuilt to the same floats; plain arrays pass as they are)."""
    out = {k: v for k, v in stored.items() if not k.endswith((VALUES, CODES))}
    for k, values in stored.items():
        if k.endswith(VALUES):
            name = k[: -len(VALUES)]
            out[name] = values[stored[name + CODES]]
    return out


def load_numpy_model(card_path: Path) -> LinearModel:
    """Load the ``.npz`` export named by a card, after its sha256 check; no pickle (``allow_pickle=False``)."""
    path = verified_path(card_path, "npz")
    card = read_card(card_path)
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}  # an idf stays as stored (values + codes): LinearModel keeps it so
        params = json.loads(bytes(arrays.pop("params_json")).decode("utf-8"))
    except (OSError, ValueError, KeyError) as exc:
        raise ModelIntegrityError(f"{path.name}: not a phishguard model export ({exc})") from None
    return LinearModel(params, arrays, version=str(card.get("version", "")))
