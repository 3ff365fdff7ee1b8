"""Export a fitted Pipeline to the numpy serving format (``.npz`` of plain arrays + JSON params).

Training side only (reads scikit-learn attributes). The ``.npz`` holds no objects: ``params_json`` is
UTF-8 bytes, every other entry a numeric array, so it loads with ``allow_pickle=False``.

On disk the members are stored, not deflated (loading is a copy: ~15 ms for both shipped models instead of
~55 ms of inflating), and each block's ``idf`` (262,144 float64, a few thousand distinct values: one per
document frequency) is stored as its distinct values plus a uint16 code per column
(``idf_<block>__values`` / ``idf_<block>__codes``; :func:`~phishguard.classifier.serve.decode_arrays`
rebuilds the same floats).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.pipeline import Pipeline

from .serve import CODES, VALUES

__all__ = ["encode_arrays", "export_arrays", "save_npz"]


def export_arrays(pipe: Pipeline, lowercase: bool = True) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(params, arrays) describing ``pipe`` for :class:`~phishguard.classifier.serve.LinearModel`."""
    union = pipe.named_steps["features"]
    blocks, arrays = [], {}
    for name, block in union.transformer_list:
        hv, tfidf = block.named_steps["hash"], block.named_steps["tfidf"]
        spec = {
            "name": name,
            "analyzer": hv.analyzer,
            "ngram_range": list(hv.ngram_range),
            "n_features": int(hv.n_features),
            "token_pattern": hv.token_pattern if hv.analyzer == "word" else None,
        }
        blocks.append(spec)
        arrays[f"idf_{name}"] = np.asarray(tfidf.idf_, dtype=np.float64)
    cal = pipe.named_steps["clf"]
    if len(cal.calibrated_classifiers_) != 1:
        raise ValueError("export needs CalibratedClassifierCV(ensemble=False): one classifier, one calibrator set")
    cc = cal.calibrated_classifiers_[0]
    coef = np.asarray(cc.estimator.coef_, dtype=np.float64)
    nz = np.flatnonzero(np.any(coef != 0, axis=0)).astype(np.int32)
    arrays["coef_idx"] = nz
    arrays["coef_val"] = coef[:, nz]
    arrays["intercept"] = np.asarray(cc.estimator.intercept_, dtype=np.float64).reshape(-1)
    arrays["cal_a"] = np.array([c.a_ for c in cc.calibrators], dtype=np.float64)
    arrays["cal_b"] = np.array([c.b_ for c in cc.calibrators], dtype=np.float64)
    params = {"format": 1, "classes": [str(c) for c in cal.classes_], "lowercase": lowercase, "blocks": blocks}
    return params, arrays


def encode_arrays(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The arrays as stored: each ``idf_*`` with at most 65,536 distinct values as values + uint16 codes."""
    out: dict[str, np.ndarray] = {}
    for k, v in arrays.items():
        if k.startswith("idf_"):
            values, codes = np.unique(v, return_inverse=True)
            if len(values) <= 1 << 16:
                out[k + VALUES], out[k + CODES] = values, codes.astype(np.uint16)
                continue
        out[k] = v
    return out


def save_npz(path: Path, params: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """Write the export deterministically (stored members, fixed order; idf encoded by :func:`encode_arrays`)."""
    buf = io.BytesIO()
    payload = {"params_json": np.frombuffer(json.dumps(params, sort_keys=True).encode("utf-8"), dtype=np.uint8)}
    stored = encode_arrays(arrays)
    payload.update({k: stored[k] for k in sorted(stored)})
    np.savez(buf, **payload)
    Path(path).write_bytes(buf.getvalue())
