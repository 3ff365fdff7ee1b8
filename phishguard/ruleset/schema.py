"""The shape of one rule document (Sigma-like), validated with pydantic.

A rule is one YAML document; a file may hold several (``---``). The match is declarative: one
matcher name from the registry (:mod:`phishguard.ruleset.matchers`) with its parameters.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from ..verdict import CATEGORIES, SEVERITIES

__all__ = ["RuleDoc", "Examples", "Messages", "RULE_ID"]

RULE_ID = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*\.[a-z0-9]+(?:[-_][a-z0-9]+)*$")
PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Messages(_Strict):
    ru: str = Field(min_length=1)
    en: str = Field(min_length=1)


class Examples(_Strict):
    match: list[str] = Field(default_factory=list)
    no_match: list[str] = Field(default_factory=list)


class RuleDoc(_Strict):
    """One detection rule; ``weight``/``floor`` can be overridden in settings."""

    id: str
    title: str = Field(min_length=1)
    description: str = ""
    category: Literal[CATEGORIES]  # type: ignore[valid-type]
    severity: Literal[SEVERITIES]  # type: ignore[valid-type]
    weight: float = Field(ge=0, le=1)
    floor: Literal["suspicious", "fraud"] | None = None
    match: dict[str, dict[str, Any] | None] = Field(min_length=1, max_length=1)
    messages: Messages
    references: list[str] = Field(default_factory=list)
    examples: Examples = Field(default_factory=Examples)
    todo: list[str] = Field(default_factory=list, description="Known gaps: documented, not failing.")
    enabled: bool = True
    untestable: str | None = Field(
        None, description="Why inline examples cannot exercise this rule, and which test covers it instead."
    )
    suppresses_links: bool = Field(
        False, description="When it fires on a link, the other link findings of that link are dropped (allow lists)."
    )
    yields_to: list[Literal[CATEGORIES]] = Field(  # type: ignore[valid-type]
        default_factory=list,
        description=(
            "Categories that already count what this rule sees (the text model yields to the text rules): when a "
            "finding of one of them is present, this rule's finding adds only what it says beyond them."
        ),
    )

    @field_validator("id")
    @classmethod
    def _id_shape(cls, v: str) -> str:
        if not RULE_ID.match(v):
            raise ValueError("rule id must be family.name, lowercase, words joined by - or _")
        return v

    @field_validator("yields_to")
    @classmethod
    def _yields_to_others(cls, v: list[str], info: ValidationInfo) -> list[str]:
        if info.data.get("category") in v:
            raise ValueError("a rule cannot yield to its own category")
        if len(set(v)) != len(v):
            raise ValueError("a category is listed twice")
        return v

    @property
    def matcher_name(self) -> str:
        return next(iter(self.match))

    @property
    def matcher_params(self) -> dict[str, Any]:
        return self.match[self.matcher_name] or {}
