"""The two scikit-learn Pipelines (training side): hashed tf-idf blocks + a calibrated linear SVM.

Each model is one ``Pipeline``::

    features: FeatureUnion of blocks, each Pipeline(HashingVectorizer -> TfidfTransformer(sublinear_tf))
    clf:      CalibratedClassifierCV(LinearSVC, method="sigmoid", ensemble=False)

The text model reads :func:`~phishguard.classifier.features.text_document`; the URL model reads
:func:`~phishguard.classifier.features.host_document`. Blocks are described by
:class:`~phishguard.classifier.features.BlockSpec` so the numpy path builds the same features.
"""

from __future__ import annotations

from collections.abc import Sequence

from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

from .features import BlockSpec

__all__ = ["build_pipeline", "block_pipeline"]


def block_pipeline(spec: BlockSpec, n_features: int) -> Pipeline:
    """Hashing (no sign alternation, no norm) then sublinear tf-idf with l2 norm, for one block."""
    kw = {"token_pattern": spec.token_pattern} if spec.token_pattern else {}
    hv = HashingVectorizer(
        analyzer=spec.analyzer,
        ngram_range=spec.ngram_range,
        n_features=n_features,
        alternate_sign=False,
        norm=None,
        **kw,
    )
    return Pipeline([("hash", hv), ("tfidf", TfidfTransformer(sublinear_tf=True))])


def build_pipeline(blocks: Sequence[BlockSpec], n_features: int, C: float, seed: int, cv: int = 5) -> Pipeline:
    """The model Pipeline; ``C`` is the SVM's inverse regularization, ``seed`` fixes liblinear's shuffling."""
    union = FeatureUnion([(b.name, block_pipeline(b, n_features)) for b in blocks])
    svm = LinearSVC(C=C, random_state=seed)
    clf = CalibratedClassifierCV(svm, method="sigmoid", cv=cv, ensemble=False)
    return Pipeline([("features", union), ("clf", clf)])
