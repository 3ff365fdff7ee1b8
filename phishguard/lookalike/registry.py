"""The brand registry: ``rules/brands.yaml`` validated with pydantic, plus parameters of the engine."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import idna
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..hosts import HostInfo

__all__ = ["Brand", "BrandRegistry", "LookalikeParams", "RegistryError", "default_registry_path"]

_DOMAIN_RE = re.compile(r"^(?=.{3,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$")
_NAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
_WORD_RE = re.compile(r"^[a-z0-9]+$")


class RegistryError(ValueError):
    """The brand YAML is invalid; ``errors`` lists every problem as "brand 'id' field: message"."""

    def __init__(self, errors: list[str], source: str = "brands.yaml") -> None:
        self.errors = errors
        super().__init__(f"{source}: {len(errors)} error(s):\n  " + "\n  ".join(errors))


# ----------------------------------------------------------------------------------------- schema
class _Strength(BaseModel):
    model_config = ConfigDict(extra="forbid")
    homoglyph: float = Field(0.95, ge=0, le=1)
    idn_brand: float = Field(0.9, ge=0, le=1)
    typosquat_visual: float = Field(0.9, ge=0, le=1)
    typosquat: float = Field(0.8, ge=0, le=1)
    typosquat_far: float = Field(0.65, ge=0, le=1)
    combosquat_scam: float = Field(0.9, ge=0, le=1)
    combosquat_filler: float = Field(0.75, ge=0, le=1)
    combosquat_token: float = Field(0.6, ge=0, le=1)
    combosquat_glued: float = Field(0.5, ge=0, le=1)
    tld_swap: float = Field(0.8, ge=0, le=1)
    tld_swap_geo: float = Field(0.85, ge=0, le=1)
    subdomain_official: float = Field(0.95, ge=0, le=1)
    subdomain_brand: float = Field(0.85, ge=0, le=1)
    subdomain_glued: float = Field(0.6, ge=0, le=1)
    path_official: float = Field(0.7, ge=0, le=1)
    path_brand_scam: float = Field(0.6, ge=0, le=1)
    path_brand: float = Field(0.4, ge=0, le=1)
    weak_factor: float = Field(0.8, ge=0, le=1)


class LookalikeParams(BaseModel):
    """Thresholds and strengths; the ``params:`` section of ``rules/brands.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    short_name_len: int = Field(4, ge=1, le=10)
    min_typo_len: int = Field(5, ge=3, le=20)
    typo_distance_long_len: int = Field(9, ge=4, le=40)
    glued_tail_max: int = Field(2, ge=0, le=10)
    cache_size: int = Field(65536, ge=0)
    strength: _Strength = _Strength()

    @classmethod
    def from_yaml(cls, path_or_text: str | Path) -> LookalikeParams:
        data = _load_yaml(path_or_text)
        return cls.model_validate((data or {}).get("params") or {})


def _check_words(v: list[str], what: str) -> list[str]:
    out = []
    for w in v:
        w2 = str(w).strip().lower()
        if not _WORD_RE.match(w2):
            raise ValueError(f"{what} must be plain ASCII letters/digits, got {w!r}")
        out.append(w2)
    return out


class _BrandModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    name: str = Field(min_length=1)
    names: list[str] = Field(min_length=1)
    generic_names: list[str] = []
    aliases: list[str] = []
    official_domains: list[str] = Field(min_length=1)
    official_suffixes: list[str] = []
    known_legit: list[str] = []
    keywords: list[str] = []
    not_typos: list[str] = []
    country: str = ""
    category: str = ""

    @field_validator("names", "generic_names")
    @classmethod
    def _names(cls, v: list[str]) -> list[str]:
        out = []
        for n in v:
            n2 = str(n).strip().lower()
            if not _NAME_RE.match(n2) or len(n2.replace("-", "")) < 2:
                raise ValueError(f"a name must be Latin lower case letters/digits/hyphens, got {n!r}")
            out.append(n2)
        return out

    @field_validator("aliases")
    @classmethod
    def _aliases(cls, v: list[str]) -> list[str]:
        out = []
        for a in v:
            a2 = str(a).strip().casefold().replace("ё", "е")
            if not a2 or any(ch in a2 for ch in "./ ") or a2.isascii():
                raise ValueError(f"an alias is a non-Latin spelling without dots or spaces, got {a!r}")
            out.append(a2)
        return out

    @field_validator("official_domains", "known_legit")
    @classmethod
    def _domains(cls, v: list[str]) -> list[str]:
        out = []
        for d in v:
            d2 = str(d).strip().lower().rstrip(".")
            if not d2.isascii():
                try:
                    d2 = idna.encode(d2, uts46=True).decode("ascii")
                except idna.IDNAError as exc:
                    raise ValueError(f"not a valid internationalized domain: {d!r} ({exc})") from None
            if not _DOMAIN_RE.match(d2):
                raise ValueError(f"not a domain name (ASCII, lower case, with a dot): {d!r}")
            out.append(d2)
        if len(set(out)) != len(out):
            dup = sorted({d for d in out if out.count(d) > 1})
            raise ValueError(f"listed twice: {', '.join(dup)}")
        return out

    @field_validator("official_suffixes")
    @classmethod
    def _suffixes(cls, v: list[str]) -> list[str]:
        return _check_words([s.lstrip(".") for s in v], "an official suffix")

    @field_validator("keywords", "not_typos")
    @classmethod
    def _keywords(cls, v: list[str]) -> list[str]:
        return _check_words(v, "a word")


class _RegistryModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = 1
    params: LookalikeParams = LookalikeParams()
    scam_words: list[str] = []
    filler_words: list[str] = []
    geo_words: list[str] = []
    generic_suffixes: list[str] = []
    brands: list[_BrandModel] = Field(min_length=1)

    @field_validator("scam_words", "filler_words", "geo_words", "generic_suffixes")
    @classmethod
    def _words(cls, v: list[str]) -> list[str]:
        return _check_words(v, "a word")


# ------------------------------------------------------------------------------------ value types
@dataclass(frozen=True, slots=True)
class Brand:
    """One impersonated brand.

    id, name:          "avito", "Avito"
    names:             Latin labels that are the brand ("avito"); hyphens allowed ("alfa-bank")
    generic_names:     names that are also ordinary words ("booking", "pochta", "wb"): matched only with
                       scam words, as a dotted official domain, or as homoglyphs
    aliases:           Cyrillic spellings ("авито")
    official_domains:  every registered domain the brand operates; subdomains included implicitly
    official_suffixes: brand TLDs (".dhl")
    known_legit:       real sites of other owners with the same name (never flagged for this brand)
    keywords:          brand-specific scam words (on top of the registry's global lists)
    not_typos:         real words one edit away from a name ("kaspa"): never reported as typosquats
    main_domain:       the first official domain, used in messages ("avito.ru")
    """

    id: str
    name: str
    names: tuple[str, ...]
    aliases: tuple[str, ...] = ()
    official_domains: frozenset[str] = frozenset()
    keywords: frozenset[str] = frozenset()
    country: str = ""
    category: str = ""
    generic_names: tuple[str, ...] = ()
    known_legit: frozenset[str] = frozenset()
    official_suffixes: frozenset[str] = frozenset()
    main_domain: str = ""
    not_typos: frozenset[str] = frozenset()

    @property
    def all_names(self) -> tuple[str, ...]:
        return self.names + self.generic_names

    def official_for(self, suffix: str) -> str:
        """The official domain on ``suffix`` if there is one ("olx" + "ua" -> "olx.ua"), else main."""
        if self.main_domain.endswith("." + suffix):
            return self.main_domain
        for d in sorted(self.official_domains):
            if d.endswith("." + suffix) and d.split(".", 1)[0] in self.all_names:
                return d
        return self.main_domain

    @classmethod
    def _from_model(cls, m: _BrandModel) -> Brand:
        return cls(
            id=m.id, name=m.name, names=tuple(m.names), aliases=tuple(m.aliases),
            official_domains=frozenset(m.official_domains), keywords=frozenset(m.keywords),
            country=m.country, category=m.category, generic_names=tuple(m.generic_names),
            known_legit=frozenset(m.known_legit), official_suffixes=frozenset(m.official_suffixes),
            main_domain=m.official_domains[0], not_typos=frozenset(m.not_typos),
        )


def _load_yaml(path_or_text: str | Path) -> Any:
    if isinstance(path_or_text, Path) or ("\n" not in str(path_or_text) and str(path_or_text).endswith(
            (".yaml", ".yml"))):
        text = Path(path_or_text).read_text(encoding="utf-8")
    else:
        text = str(path_or_text)
    # libyaml's safe loader: same result as yaml.safe_load, ~10x faster on brands.yaml
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506


def default_registry_path() -> Path:
    """rules/brands.yaml: inside the installed wheel, else in the source checkout."""
    try:
        from importlib.resources import files

        p = files("phishguard").joinpath("_shipped/rules/brands.yaml")
        if p.is_file():
            return Path(str(p))
    except (ModuleNotFoundError, FileNotFoundError):  # pragma: no cover
        pass
    return Path(__file__).resolve().parents[2] / "rules" / "brands.yaml"


def _format_errors(exc: ValidationError, data: Any) -> list[str]:
    out = []
    brands = data.get("brands") if isinstance(data, dict) else None
    for e in exc.errors():
        loc = list(e["loc"])
        where = ".".join(str(x) for x in loc)
        if len(loc) >= 2 and loc[0] == "brands" and isinstance(loc[1], int):
            bid = "?"
            if isinstance(brands, list) and loc[1] < len(brands) and isinstance(brands[loc[1]], dict):
                bid = str(brands[loc[1]].get("id", "?"))
            fld = ".".join(str(x) for x in loc[2:]) or "(entry)"
            where = f"brand {bid!r} (#{loc[1] + 1}) field {fld!r}"
        out.append(f"{where}: {e['msg']}")
    return out


# --------------------------------------------------------------------------------------- registry
@dataclass(frozen=True)
class BrandRegistry:
    """Brands + word lists + engine parameters.

    >>> reg = BrandRegistry.from_yaml(default_registry_path())
    >>> reg.get("avito").main_domain
    'avito.ru'
    """

    brands: tuple[Brand, ...]
    scam_words: frozenset[str] = frozenset()
    filler_words: frozenset[str] = frozenset()
    geo_words: frozenset[str] = frozenset()
    generic_suffixes: tuple[str, ...] = ()
    params: LookalikeParams = field(default_factory=LookalikeParams)
    _raw: tuple = field(default=(), repr=False, compare=False)
    _by_domain: dict = field(default_factory=dict, repr=False, compare=False)
    _by_suffix: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        for b in self.brands:
            for d in b.official_domains:
                self._by_domain.setdefault(d, b)
            for s in b.official_suffixes:
                self._by_suffix.setdefault(s, b)

    # -- construction
    @classmethod
    def from_yaml(cls, path_or_text: str | Path) -> BrandRegistry:
        """Load and validate; raises :class:`RegistryError` naming the brand id and field."""
        data = _load_yaml(path_or_text)
        return cls._from_data(data)

    @classmethod
    def default(cls) -> BrandRegistry:
        return cls.from_yaml(default_registry_path())

    @classmethod
    def _from_data(cls, data: Any) -> BrandRegistry:
        if not isinstance(data, dict):
            raise RegistryError(["the document must be a mapping with a 'brands' list"])
        try:
            m = _RegistryModel.model_validate(data)
        except ValidationError as exc:
            raise RegistryError(_format_errors(exc, data)) from None
        errors = []
        seen: dict[str, int] = {}
        for i, b in enumerate(m.brands):
            if b.id in seen:
                errors.append(f"brand {b.id!r} (#{i + 1}) field 'id': duplicate of brand #{seen[b.id] + 1}")
            seen.setdefault(b.id, i)
        if errors:
            raise RegistryError(errors)
        raw = tuple(b.model_dump() for b in m.brands)
        return cls(
            brands=tuple(Brand._from_model(b) for b in m.brands),
            scam_words=frozenset(m.scam_words), filler_words=frozenset(m.filler_words),
            geo_words=frozenset(m.geo_words), generic_suffixes=tuple(m.generic_suffixes), params=m.params,
            _raw=(raw, m.model_dump(exclude={"brands"})),
        )

    def merged(self, extra: Iterable[dict]) -> BrandRegistry:
        """A new registry with ``extra`` brand entries added; an existing id gets its lists extended.

        >>> reg = BrandRegistry.default().merged([{"id": "avito", "official_domains": ["avito.kz"]},
        ...     {"id": "shopik", "name": "Shopik", "names": ["shopik"], "official_domains": ["shopik.kz"]}])
        >>> "avito.kz" in reg.get("avito").official_domains, reg.get("shopik").main_domain
        (True, 'shopik.kz')
        """
        raw_brands, rest = self._raw if self._raw else ((), {})
        brands = [dict(b) for b in raw_brands]
        index = {b["id"]: i for i, b in enumerate(brands)}
        for e in extra:
            if not isinstance(e, dict) or "id" not in e:
                raise RegistryError([f"extra brand entry without an id: {e!r}"])
            if e["id"] in index:
                cur = brands[index[e["id"]]]
                for k, v in e.items():
                    if isinstance(cur.get(k), list):
                        cur[k] = cur[k] + [x for x in v if x not in cur[k]]
                    else:
                        cur[k] = v
            else:
                index[e["id"]] = len(brands)
                brands.append(dict(e))
        return self._from_data({**rest, "brands": brands})

    # -- queries
    def get(self, brand_id: str) -> Brand:
        for b in self.brands:
            if b.id == brand_id:
                return b
        raise KeyError(brand_id)

    def __iter__(self):
        return iter(self.brands)

    def __len__(self) -> int:
        return len(self.brands)

    def official_brand_of_domain(self, ascii_host: str) -> Brand | None:
        """Brand whose official registered domain is ``ascii_host`` or a parent of it."""
        h = ascii_host.lower().rstrip(".")
        parts = h.split(".")
        for i in range(len(parts) - 1):
            b = self._by_domain.get(".".join(parts[i:]))
            if b is not None:
                return b
        if self._by_suffix:
            return self._by_suffix.get(parts[-1])
        return None

    def official_brand(self, host: HostInfo) -> Brand | None:
        """The brand whose official domain (or brand TLD) ``host`` is, or a subdomain of one."""
        if host.ip is not None:
            return None
        b = self._by_domain.get(host.registered_domain) if host.registered_domain else None
        return b or self.official_brand_of_domain(host.ascii)
