"""Score with numpy only: the fitted weights of a Pipeline exported to ``.npz``, hashed with ``mmh3``.

Importing scikit-learn costs ~0.6 s and ~110 MB, so the scanner does not: :class:`LinearModel` holds
what :mod:`phishguard.classifier.export` took out of a fitted Pipeline (per block: hashing size and idf;
the linear weights; the sigmoid calibrators) and reproduces its ``predict_proba`` — the n-grams are the
same strings as scikit-learn's analyzers make, hashed with the same MurmurHash3 (signed, seed 0), so the
probabilities match to float rounding (``tests/test_classifier_serving.py`` checks it).

Speed: the char n-grams of a word are hashed once and cached (chat repeats its words); a batch is
scored with a handful of numpy calls over all its messages at once.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mmh3
import numpy as np

from .card import ModelIntegrityError, read_card, verified_path
from .features import WORD_RE, _WS2, word_char_ngrams

__all__ = ["LinearModel", "Block", "load_numpy_model"]

_CACHE_MAX = 200_000
_PUNCT = ".,:;!?()[]«»\"'"


def _index(token: str, n: int) -> int:
    """sklearn's FeatureHasher column for ``token`` (signed MurmurHash3 of the UTF-8, seed 0)."""
    return abs(mmh3.hash(token, 0, signed=True)) % n


class Block:
    """One hashed block of the feature union: analyzer, size, idf, offset of its columns."""

    def __init__(self, spec: dict[str, Any], idf: np.ndarray, offset: int):
        self.name: str = spec["name"]
        self.analyzer: str = spec["analyzer"]
        self.lo, self.hi = spec["ngram_range"]
        self.n: int = int(spec["n_features"])
        self.token_re = re.compile(spec["token_pattern"]) if spec.get("token_pattern") else WORD_RE
        self.idf = idf
        self.offset = offset
        self._cache: dict[str, tuple[int, ...]] = {}

    def _unit(self, unit: str) -> tuple[int, ...]:
        """Column indices (with repeats) of one word (char_wb) or one token n-gram (word)."""
        got = self._cache.get(unit)
        if got is None:
            if len(self._cache) >= _CACHE_MAX:
                self._cache.clear()
            n, off = self.n, self.offset
            grams = word_char_ngrams(unit, self.lo, self.hi) if self.analyzer == "char_wb" else (unit,)
            got = self._cache[unit] = tuple(off + _index(g, n) for g in grams)
        return got

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

    def columns(self, doc: str) -> list[int]:
        cols: list[int] = []
        for u in self.units(doc):
            cols.extend(self._unit(u))
        return cols


@dataclass(frozen=True)
class _Features:
    row: np.ndarray  # message index of each nonzero
    col: np.ndarray  # global column
    val: np.ndarray  # tf-idf, l2-normalized per block


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
            self.blocks.append(Block(spec, arrays[f"idf_{spec['name']}"], offset))
            offset += int(spec["n_features"])
        self.n_total = offset
        n_est = arrays["intercept"].shape[0]
        coef = np.zeros((n_est, offset), dtype=np.float64)
        coef[:, arrays["coef_idx"]] = arrays["coef_val"]
        self.coef_t = np.ascontiguousarray(coef.T)  # (columns, estimator outputs): one gather per batch
        self.intercept = arrays["intercept"].astype(np.float64)
        self.cal_a = arrays["cal_a"].astype(np.float64)
        self.cal_b = arrays["cal_b"].astype(np.float64)
        self.idf = np.concatenate([b.idf for b in self.blocks]).astype(np.float64)
        self.block_of = np.concatenate([np.full(b.n, i, dtype=np.int8) for i, b in enumerate(self.blocks)])

    # ------------------------------------------------------------------ features

    def features(self, docs: list[str]) -> _Features:
        """Sparse tf-idf rows of ``docs`` (sublinear tf, idf, l2 per block), as sklearn computes them."""
        rows: list[int] = []
        cols: list[int] = []
        for i, doc in enumerate(docs):
            if self.lowercase:
                doc = doc.lower()
            before = len(cols)
            for b in self.blocks:
                cols.extend(b.columns(doc))
            rows.extend([i] * (len(cols) - before))
        n_total = self.n_total
        key = np.asarray(rows, dtype=np.int64) * n_total + np.asarray(cols, dtype=np.int64)
        key, tf = np.unique(key, return_counts=True)
        row, col = np.divmod(key, n_total)
        val = (np.log(tf) + 1.0) * self.idf[col]
        # l2 norm per (message, block)
        nb = len(self.blocks)
        grp = row * nb + self.block_of[col]
        sq = np.bincount(grp, weights=val * val, minlength=len(docs) * nb)
        norm = np.sqrt(sq)
        val = val / norm[grp]
        return _Features(row, col, val)

    def _features_one(self, doc: str) -> _Features:
        """:meth:`features` for one document, with fewer numpy calls (the single-message latency path)."""
        if self.lowercase:
            doc = doc.lower()
        cols: list[int] = []
        for b in self.blocks:
            cols.extend(b.columns(doc))
        if not cols:
            return _Features(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
        col, tf = np.unique(np.array(cols, dtype=np.int64), return_counts=True)
        val = (np.log(tf) + 1.0) * self.idf[col]
        block = self.block_of[col]
        val /= np.sqrt(np.bincount(block, weights=val * val, minlength=len(self.blocks)))[block]
        return _Features(np.zeros(len(col), dtype=np.int64), col, val)

    def decision(self, f: _Features, n_docs: int) -> np.ndarray:
        """Raw decision values, shape (n_docs, n_estimator_outputs)."""
        if n_docs == 1:
            return (f.val @ self.coef_t[f.col] + self.intercept)[None, :]
        contrib = self.coef_t[f.col] * f.val[:, None]
        out = np.empty((n_docs, self.coef_t.shape[1]))
        for k in range(out.shape[1]):
            out[:, k] = np.bincount(f.row, weights=contrib[:, k], minlength=n_docs)
        return out + self.intercept

    def predict_proba(self, docs: list[str]) -> np.ndarray:
        """Calibrated class probabilities, one row per document."""
        docs = list(docs)
        if not docs:
            return np.zeros((0, len(self.classes)))
        f = self._features_one(docs[0]) if len(docs) == 1 else self.features(docs)
        d = self.decision(f, len(docs))
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
        """The words (char_wb blocks) or tokens (word blocks) of ``doc`` that push it most towards ``label``.

        A word's push is the sum of its n-grams' weights (tf-idf x coefficient of ``label``'s output), each
        distinct n-gram of the word once, so a moderator sees words that are in the text, not hash buckets.
        """
        if self.lowercase:
            doc = doc.lower()
        f = self._features_one(doc)
        keys, unit_of, cols = self._word_columns(doc)
        if not keys or not len(f.col):
            return []
        out_k = self.classes.index(label) if self.coef_t.shape[1] > 1 else 0
        order = np.argsort(f.col)
        sorted_cols = f.col[order]
        weight = (f.val * self.coef_t[f.col, out_k])[order]
        pair = np.unique(np.asarray(unit_of, dtype=np.int64) * self.n_total + np.asarray(cols, dtype=np.int64))
        unit, col = np.divmod(pair, self.n_total)
        per_unit = np.bincount(unit, weights=weight[np.searchsorted(sorted_cols, col)], minlength=len(keys))
        push: dict[str, float] = {}
        for key, w in zip(keys, per_unit.tolist()):
            push[key] = push.get(key, 0.0) + w
        ranked = sorted((kv for kv in push.items() if kv[1] > 0), key=lambda kv: -kv[1])
        return [u for u, _ in ranked[:k]]

    def _word_columns(self, doc: str) -> tuple[list[str], list[int], list[int]]:
        """The words of ``doc`` that can be shown (letters only, punctuation stripped; links, numbers and
        structural tokens are not), and for each of its n-gram columns the index of the word it belongs to."""
        keys: list[str] = []
        unit_of: list[int] = []
        cols: list[int] = []
        for b in self.blocks:
            for u in b.units(doc):
                key = u.strip(_PUNCT)
                if key.isalpha():
                    c = b._unit(u)
                    unit_of.extend([len(keys)] * len(c))
                    cols.extend(c)
                    keys.append(key)
        return keys, unit_of, cols

    def top_ngrams(self, doc: str, label: str, k: int = 3) -> list[str]:
        """The character n-grams of ``doc`` (char_wb blocks) that push it most towards ``label``,
        longest first among overlapping ones, without the word-boundary spaces."""
        if self.lowercase:
            doc = doc.lower()
        f = self.features([doc])
        out_k = self.classes.index(label) if self.coef_t.shape[1] > 1 else 0
        weight = dict(zip(f.col.tolist(), (f.val * self.coef_t[f.col, out_k]).tolist()))
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


def load_numpy_model(card_path: Path) -> LinearModel:
    """Load the ``.npz`` export named by a card, after its sha256 check; no pickle (``allow_pickle=False``)."""
    path = verified_path(card_path, "npz")
    card = read_card(card_path)
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        params = json.loads(bytes(arrays.pop("params_json")).decode("utf-8"))
    except (OSError, ValueError, KeyError) as exc:
        raise ModelIntegrityError(f"{path.name}: not a phishguard model export ({exc})") from None
    return LinearModel(params, arrays, version=str(card.get("version", "")))
