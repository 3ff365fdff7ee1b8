"""The training configuration (``train.yaml``), validated with pydantic; paths relative to the file."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

__all__ = ["TrainConfig", "TextConfig", "UrlConfig", "HostFile", "load_config"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RealChat(_Strict):
    path: Path
    test_share: float = Field(0.3, gt=0, lt=1)


class TextConfig(_Strict):
    n_features: int = Field(2**18, ge=2**10, le=2**22)
    C: float = Field(1.0, gt=0)
    corpus: list[Path] = Field(min_length=1)
    real_chat: RealChat | None = None
    holdout: Path | None = None
    sms_benchmark: Path | None = None
    validation_share: float = Field(0.2, gt=0, lt=0.5)
    max_ham_fp: float = Field(0.001, gt=0, lt=0.5)
    min_threshold: float = Field(0.5, ge=0, le=1)


class HostFile(_Strict):
    path: Path
    column: str
    date_column: str | None = None


class UrlConfig(_Strict):
    n_features: int = Field(2**18, ge=2**10, le=2**22)
    C: float = Field(0.5, gt=0)
    phishing: list[HostFile] = Field(min_length=1)
    benign: HostFile
    split_date: str = "2025-09-01"
    benign_train: int = Field(300_000, ge=100)
    benign_validation: int = Field(20_000, ge=100)
    benign_test_share: float = Field(0.1, gt=0, lt=0.5)
    subdomain_share: float = Field(0.15, ge=0, le=1)
    threshold_fpr: float = Field(0.005, gt=0, lt=0.5)


class TrainConfig(_Strict):
    seed: int = 0
    out_dir: Path = Path("models")
    text: TextConfig | None = None
    url: UrlConfig | None = None


def _resolve(obj, base: Path):
    if isinstance(obj, Path):
        return obj if obj.is_absolute() else (base / obj)
    if isinstance(obj, BaseModel):
        return obj.model_copy(update={k: _resolve(getattr(obj, k), base) for k in type(obj).model_fields})
    if isinstance(obj, list):
        return [_resolve(x, base) for x in obj]
    return obj


def load_config(path: Path) -> TrainConfig:
    """Read and validate a training config; relative paths are made relative to its folder."""
    path = Path(path)
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    cfg = TrainConfig.model_validate(data)
    return _resolve(cfg, path.resolve().parent)
