"""The ML classifiers: message text and link host, trained with scikit-learn, served with numpy.

- :mod:`.features`  the documents the models read and the n-grams they hash (shared by both paths)
- :mod:`.pipelines` the scikit-learn Pipelines (training)
- :mod:`.train`     ``phishguard train``: data -> models/*.skops, *.npz, *.json (cards)
- :mod:`.evaluate`  metrics, recall at fixed FPR, PR curves; ``phishguard eval``
- :mod:`.export`    fitted Pipeline -> plain arrays (``.npz``, no pickle)
- :mod:`.serve`     numpy + mmh3 scoring, bit-compatible with the Pipeline (no scikit-learn import)
- :mod:`.persist`   skops save/load with an explicit trusted-type list
- :mod:`.card`      model cards and the sha256 check every loader runs

Nothing here is imported by ``import phishguard``; scikit-learn only by training and ``eval``.
"""

from .card import ModelIntegrityError

__all__ = ["ModelIntegrityError"]
