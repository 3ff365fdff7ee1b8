"""Settings: one YAML file plus ``PHISHGUARD_*`` environment variables, validated at start-up.

Precedence, highest first: environment (``PHISHGUARD_THRESHOLDS__FRAUD=0.8``, nested keys joined
by ``__``), the YAML file (``--config FILE`` or ``PHISHGUARD_CONFIG``), the defaults declared here.
Every setting is declared once, with its default and a description that the docs and
``phishguard config show`` reuse.

>>> Settings().thresholds.fraud
0.75
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from .service.config import ServiceSettings
from .moderation.config import DEFAULT_DATABASE_URL, ModerationSettings

__all__ = ["Settings", "ConfigError", "load_settings", "effective_config"]

Floor = Literal["suspicious", "fraud"]


class ConfigError(Exception):
    """The configuration is invalid; the message is one line naming the setting and the source."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Thresholds(_Strict):
    suspicious: float = Field(0.4, ge=0, le=1, description="Score at or above which a message is suspicious.")
    fraud: float = Field(0.75, ge=0, le=1, description="Score at or above which a message is fraud.")

    @model_validator(mode="after")
    def _ordered(self) -> "Thresholds":
        if not self.suspicious < self.fraud:
            raise ValueError("thresholds.suspicious must be lower than thresholds.fraud")
        return self


class RuleOverride(_Strict):
    weight: float | None = Field(None, ge=0, le=1, description="Replaces the rule's weight.")
    floor: Floor | Literal["none"] | None = Field(None, description="Replaces the rule's floor ('none' removes it).")
    enabled: bool | None = Field(None, description="false switches the rule off.")


class Limits(_Strict):
    max_text_bytes: int = Field(65536, ge=256, description="Longer text is scanned up to this many UTF-8 bytes, with a degraded reason.")
    max_urls: int = Field(50, ge=1, le=10000, description="Links analysed per message; the rest are counted in a degraded reason.")
    url_cache_size: int = Field(
        4096, ge=0, description="Per-scanner cache of link analyses, emptied when full (0 disables). An entry is ~2 KB and "
        "~6 objects the garbage collector walks: 4,096 keeps a worker's full collections under ~6 ms (65,536: ~150 ms, "
        "+120 MB) while a campaign's links, which repeat, stay cached.",
    )
    scan_budget_ms: float = Field(
        40.0, ge=0, description="A message scan past this many milliseconds of CPU time skips its remaining expensive parts (the "
        "text model, further links) with a degraded reason; the keyword rules always run. 0: no budget.",
    )


class FetchSettings(_Strict):
    max_links: int = Field(3, ge=1, le=20, description="Pages fetched per message (non-official links only).")
    timeout_s: float = Field(5.0, gt=0, le=60, description="Total time for one page fetch, redirects included.")
    max_redirects: int = Field(5, ge=0, le=20, description="Redirect hops followed (each re-checked).")
    max_bytes: int = Field(1 << 20, ge=1024, description="Page bodies are cut at this many bytes.")
    allowed_ports: list[int] = Field(default_factory=lambda: [80, 443], description="Ports the fetcher may connect to.")
    cache_ttl_s: float = Field(300.0, ge=0, description="How long a fetched page's result is reused.")
    budget_ms: int = Field(8000, ge=100, description="Service: time a request may spend fetching before it answers without pages.")


DEFAULT_CAPS = {
    "url_structure": 0.6,
    "spam": 0.45,
    "text_model": 0.7,
    "degraded": 0.0,
}


class Settings(BaseSettings):
    """Everything an operator can adjust without touching code."""

    model_config = SettingsConfigDict(
        env_prefix="PHISHGUARD_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    lang: Literal["ru", "en"] | None = Field(
        None, description="Default language of summaries; unset: from the locale (LANG), else English."
    )
    rules_dir: Path | None = Field(None, description="Rules folder; unset: the rules shipped in the package.")
    thresholds: Thresholds = Field(default_factory=Thresholds, description="Score thresholds for the verdicts.")
    category_caps: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_CAPS),
        description="Most that one category can add to the score (e.g. many weak URL hints stay weak).",
    )
    rule_overrides: dict[str, RuleOverride] = Field(
        default_factory=dict, description="Per-rule weight/floor/enabled, keyed by rule id."
    )
    allow_domains: list[str] = Field(
        default_factory=list, description="Domains (and their subdomains) never flagged by link rules."
    )
    deny_domains: list[str] = Field(
        default_factory=list, description="Domains (and their subdomains) that make a message fraud."
    )
    brands_extra: list[dict[str, Any]] = Field(
        default_factory=list, description="Extra brands or official domains, in the format of rules/brands.yaml."
    )
    limits: Limits = Field(default_factory=Limits, description="Input limits.")
    fetch: FetchSettings = Field(
        default_factory=FetchSettings, description="The page fetcher (scan --fetch, the service's fetch: true)."
    )
    service: ServiceSettings = Field(
        default_factory=ServiceSettings, description="The HTTP service (`phishguard serve`)."
    )
    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="Moderation store: `sqlite:///PATH` (relative to the current directory) or `postgresql://…`.",
    )
    moderation: ModerationSettings = Field(
        default_factory=ModerationSettings, description="Flags, review queue, moderators' lists and webhooks."
    )

    @model_validator(mode="after")
    def _caps(self) -> "Settings":
        for cat, cap in self.category_caps.items():
            if not 0 <= cap <= 1:
                raise ValueError(f"category_caps.{cat} must be within [0, 1]")
        if self.category_caps.get("spam", 1.0) >= self.thresholds.fraud:
            raise ValueError("category_caps.spam must stay below thresholds.fraud: spam alone is never fraud")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment wins over the YAML file, which is passed in as init kwargs by load_settings().
        return (env_settings, init_settings)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{path}{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the config file must be a mapping of setting names to values")
    return data


def load_settings(config: str | os.PathLike[str] | None = None, **overrides: Any) -> Settings:
    """Build validated settings from the YAML file (if any), the environment and ``overrides``.

    Raises :class:`ConfigError` with one line naming the setting and where it came from.
    """
    path = config if config is not None else os.environ.get("PHISHGUARD_CONFIG") or None
    data = _read_yaml(Path(path)) if path else {}
    data.update(overrides)
    try:
        return Settings(**data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]) or "(root)"
        source = f" in {path}" if path else ""
        env = "PHISHGUARD_" + "__".join(str(p).upper() for p in err["loc"]) if err["loc"] else ""
        hint = f" (or {env})" if env else ""
        more = f" (+{len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        raise ConfigError(f"invalid setting {loc}{source}{hint}: {err['msg']}{more}") from None


def _mask(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return "********" if value.get_secret_value() else ""
    if isinstance(value, BaseModel):
        return {k: _mask(getattr(value, k)) for k in type(value).model_fields}
    if isinstance(value, dict):
        return {k: _mask(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_mask(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def effective_config(settings: Settings) -> dict[str, Any]:
    """The effective configuration as plain data, secrets masked (for ``phishguard config show``)."""
    return _mask(settings)


def settings_table() -> str:
    """The settings as a Markdown table (name, environment variable, default, meaning) for the README.

    Declared once here; ``tests/test_docs.py`` checks the README holds exactly this table.
    """
    rows = ["| setting | environment | default | meaning |", "|---|---|---|---|"]

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, f in model.model_fields.items():
            key = f"{prefix}{name}"
            ann = f.annotation
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                walk(ann, key + ".")
                continue
            default = f.get_default(call_default_factory=True)
            shown = "—" if default is None or default == [] or default == {} else f"`{_fmt_default(default)}`"
            env = "PHISHGUARD_" + key.replace(".", "__").upper()
            rows.append(f"| `{key}` | `{env}` | {shown} | {f.description or ''} |")

    walk(Settings, "")
    return "\n".join(rows)


def _fmt_default(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)
