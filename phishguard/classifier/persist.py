"""Save and load the scikit-learn Pipelines with skops (never pickle), with an explicit trusted-type list.

``load_pipeline`` checks the artifact's sha256 against its card first, then asks skops which types the
file contains and refuses any not in :data:`TRUSTED_TYPES` — the types our Pipelines are made of.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from .card import ModelIntegrityError, verified_path

__all__ = ["TRUSTED_TYPES", "save_pipeline", "load_pipeline"]

#: Every non-builtin type a shipped Pipeline holds (``CalibratedClassifierCV`` brings two private ones).
TRUSTED_TYPES = [
    "sklearn.pipeline.Pipeline",
    "sklearn.pipeline.FeatureUnion",
    "sklearn.feature_extraction.text.HashingVectorizer",
    "sklearn.feature_extraction.text.TfidfTransformer",
    "sklearn.calibration.CalibratedClassifierCV",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.svm._classes.LinearSVC",
    "numpy.dtype",
    "numpy.ndarray",
    "numpy.float64",
    "numpy.int64",
]


def save_pipeline(pipe, path: Path) -> None:
    """Write ``pipe`` with ``skops.io.dump`` (zip-compressed)."""
    import skops.io as sio

    sio.dump(pipe, Path(path), compression=zipfile.ZIP_DEFLATED, compresslevel=6)


def load_pipeline(card_path: Path):
    """The Pipeline named by a card: sha256 checked, then loaded with only :data:`TRUSTED_TYPES` trusted."""
    import skops.io as sio

    path = verified_path(card_path, "skops")
    untrusted = [t for t in sio.get_untrusted_types(file=path) if t not in TRUSTED_TYPES]
    if untrusted:
        raise ModelIntegrityError(f"{path.name}: contains types that are not trusted: {', '.join(untrusted)}")
    return sio.load(path, trusted=TRUSTED_TYPES)
