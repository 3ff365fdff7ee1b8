"""Moderators' decisions as the scanner applies them: the ``moderator_list`` matcher (scope url).

Moderators confirm a domain (it goes on their deny list) or dismiss it (allow list); the service
loads the current standings from the store and installs them here with
:meth:`ModeratedLists.install` — one attribute store, so a scan sees the old lists or the new ones,
never a mix. A rule names which list it reads (``status: deny`` / ``allow``); the reason says who
decided, when, and the decision's number.

>>> lists = ModeratedLists()
>>> lists.install(Standings(3, {"avito-pay.ru": Standing("deny", 17, "anna", 1763900000.0)}))
>>> lists.current.lookup("secure.avito-pay.ru", "deny")
('avito-pay.ru', Standing(status='deny', decision_id=17, moderator='anna', decided_at=1763900000.0))
>>> lists.current.lookup("avito-pay.ru", "allow") is None
True
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

from pydantic import Field

from .matchers import Hit, LinkFn, LinkView, Resources, _Params, matcher

__all__ = ["ModeratedLists", "Standing", "Standings"]

Status = Literal["deny", "allow"]


@dataclass(frozen=True, slots=True)
class Standing:
    """A domain's standing from the latest moderator decision on it."""

    status: Status
    decision_id: int
    moderator: str
    decided_at: float


@dataclass(frozen=True, slots=True)
class Standings:
    """All domains moderators decided on, at store version ``version`` (ASCII registered domains)."""

    version: int = 0
    domains: Mapping[str, Standing] = field(default_factory=dict)

    def lookup(self, ascii_host: str, status: Status) -> tuple[str, Standing] | None:
        """The entry for ``ascii_host`` or its nearest parent domain, if it has ``status``."""
        if not self.domains:
            return None
        labels = ascii_host.split(".")
        for i in range(len(labels)):
            found = self.domains.get(".".join(labels[i:]))
            if found is not None:
                return (".".join(labels[i:]), found) if found.status == status else None
        return None


class ModeratedLists:
    """Holds the current :class:`Standings`; shared by a ruleset's matchers (one per Scanner)."""

    __slots__ = ("current",)

    def __init__(self) -> None:
        self.current = Standings()

    def install(self, standings: Standings) -> None:
        self.current = standings


class ModeratorListParams(_Params):
    status: Status = Field(description="Which moderators' list: `deny` (confirmed fraud) or `allow` (dismissed).")


def _date(ts: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(ts))


@matcher("moderator_list", "url", ModeratorListParams)
def _build_moderator_list(p: ModeratorListParams, res: Resources) -> LinkFn:
    """The host (or a parent domain) was confirmed (``deny``) or dismissed (``allow``) by a moderator."""
    lists: ModeratedLists = res.moderated

    def run(link: LinkView) -> Iterator[Hit]:
        if link.host.ip is not None:
            return
        found = lists.current.lookup(link.host.ascii, p.status)
        if found is not None:
            entry, standing = found
            yield Hit(
                evidence=link.host.unicode,
                vars={
                    "host": link.host.unicode,
                    "entry": entry,
                    "moderator": standing.moderator,
                    "decision": str(standing.decision_id),
                    "date": _date(standing.decided_at),
                },
            )

    return run
