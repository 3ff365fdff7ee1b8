"""Metrics for a binary decision at a threshold, recall at fixed false-positive rates, PR-curve plots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["binary_report", "recall_at_fpr", "threshold_at_fpr", "plot_pr", "format_report"]


def threshold_at_fpr(neg_scores: np.ndarray, fpr: float) -> float:
    """The smallest threshold (``score >= t`` flags) that flags at most ``fpr`` of the negatives.

    >>> threshold_at_fpr(np.array([0.1, 0.2, 0.3, 0.9]), 0.25) > 0.3
    True
    """
    s = np.sort(np.asarray(neg_scores, dtype=float))[::-1]
    k = int(np.floor(fpr * len(s)))  # how many negatives may be flagged
    if k >= len(s):
        return float(s[-1])
    return float(np.nextafter(s[k], np.inf))


def recall_at_fpr(pos: np.ndarray, neg: np.ndarray, fprs: tuple[float, ...] = (0.001, 0.005, 0.01)) -> dict[str, float]:
    """Recall on ``pos`` at thresholds that keep the false-positive rate on ``neg`` at each of ``fprs``."""
    pos = np.asarray(pos, dtype=float)
    return {f"{f:.1%}": float(np.mean(pos >= threshold_at_fpr(neg, f))) for f in fprs}


def binary_report(y_true: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, Any]:
    """Precision, recall, F1, ROC-AUC, PR-AUC (average precision), MCC and the confusion matrix."""
    from sklearn.metrics import average_precision_score, confusion_matrix, matthews_corrcoef, roc_auc_score

    y = np.asarray(y_true).astype(bool)
    pred = np.asarray(scores) >= threshold
    tn, fp, fn, tp = (int(v) for v in confusion_matrix(y, pred, labels=[False, True]).ravel())
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    both = y.any() and (~y).any()
    return {
        "n": int(len(y)),
        "positives": int(y.sum()),
        "threshold": round(float(threshold), 6),
        "precision": round(prec, 4),
        "recall": round(rec, 4),
        "f1": round(2 * prec * rec / (prec + rec), 4) if prec + rec else 0.0,
        "fp_rate": round(fp / (fp + tn), 5) if fp + tn else 0.0,
        "mcc": round(float(matthews_corrcoef(y, pred)), 4) if both else None,
        "roc_auc": round(float(roc_auc_score(y, scores)), 4) if both else None,
        "pr_auc": round(float(average_precision_score(y, scores)), 4) if both else None,
        "confusion": {"tn": tn, "fp": fp, "fn": fn, "tp": tp},
    }


def format_report(name: str, r: dict[str, Any]) -> str:
    """A report as a few aligned lines for the terminal."""
    c = r["confusion"]
    lines = [
        f"{name}: n={r['n']} positives={r['positives']} threshold={r['threshold']}",
        f"  precision {r['precision']:.4f}  recall {r['recall']:.4f}  F1 {r['f1']:.4f}  FP rate {r['fp_rate']:.5f}",
        f"  ROC-AUC {r['roc_auc']}  PR-AUC {r['pr_auc']}  MCC {r['mcc']}",
        "  confusion matrix (rows: true ham/scam, cols: predicted ham/scam):",
        f"    {c['tn']:>7} {c['fp']:>7}",
        f"    {c['fn']:>7} {c['tp']:>7}",
    ]
    return "\n".join(lines)


def plot_pr(y_true: np.ndarray, scores: np.ndarray, path: Path, title: str) -> Path:
    """Write a precision-recall curve PNG (matplotlib, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve

    p, r, _ = precision_recall_curve(np.asarray(y_true).astype(bool), scores)
    fig, ax = plt.subplots(figsize=(5, 4), dpi=100)
    ax.plot(r, p, lw=1.5)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title(title)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)
