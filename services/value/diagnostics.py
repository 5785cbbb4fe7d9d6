"""How well churn probabilities did on the holdout: ROC and precision-recall curves, calibration, thresholds.

Curves are thinned to at most `POINTS` points: enough to draw, small enough to keep with the model.
"""
from __future__ import annotations

import numpy as np
from sklearn.calibration import calibration_curve
from sklearn.metrics import precision_recall_curve, roc_curve

POINTS = 200
THRESHOLDS = np.round(np.arange(0.05, 0.96, 0.05), 2)


def _thinned(*arrays: np.ndarray) -> list[list[float]]:
    keep = np.unique(np.linspace(0, len(arrays[0]) - 1, min(POINTS, len(arrays[0]))).round().astype(int))
    return [np.asarray(values, float)[keep].round(5).tolist() for values in arrays]


def threshold_table(churned: np.ndarray, probability: np.ndarray) -> dict[str, list]:
    """Per threshold: the share of customers flagged (probability at or above it), precision and recall."""
    churned, probability = np.asarray(churned, bool), np.asarray(probability, float)
    flagged = probability[None, :] >= THRESHOLDS[:, None]
    hits = (flagged & churned[None, :]).sum(axis=1)
    counts = flagged.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(counts > 0, hits / counts, np.nan)
    recall = hits / max(int(churned.sum()), 1)
    return {"threshold": THRESHOLDS.tolist(), "flagged": (counts / len(churned)).round(5).tolist(),
            "precision": [None if np.isnan(v) else round(float(v), 5) for v in precision],
            "recall": recall.round(5).tolist()}


def churn_curves(churned: np.ndarray, probability: np.ndarray, revenue: np.ndarray) -> dict:
    """The holdout's curves, as JSON-ready lists (`revenue`: the last year's, kept for the revenue caught)."""
    fpr, tpr, _ = roc_curve(churned, probability)
    precision, recall, _ = precision_recall_curve(churned, probability)
    observed, predicted = calibration_curve(churned, probability, n_bins=10, strategy="quantile")
    roc_fpr, roc_tpr = _thinned(fpr, tpr)
    pr_recall, pr_precision = _thinned(recall[::-1], precision[::-1])
    thresholds = threshold_table(churned, probability)
    churners = np.asarray(churned, bool)
    lost = float(np.asarray(revenue)[churners].sum())
    caught = [float(np.asarray(revenue)[churners & (probability >= t)].sum()) for t in THRESHOLDS]
    thresholds["revenue_caught"] = [round(value / lost, 5) if lost else None for value in caught]
    return {"roc": {"fpr": roc_fpr, "tpr": roc_tpr}, "pr": {"recall": pr_recall, "precision": pr_precision},
            "calibration": {"predicted": predicted.round(5).tolist(), "observed": observed.round(5).tolist()},
            "thresholds": thresholds}
