"""Read access as Confluence decides it, in a form the index can store and the query side can test.

Atlassian's rule (docs/confluence.md#the-read-rule, with its sources):

    canRead(u, page) = spaceView(u, space(page))
                     ∧ ∀ non-empty read restriction L on the page and on each ancestor (folders too):
                           u ∈ L.users ∨ groups(u) ∩ L.groups ≠ ∅

An intersection over every layer, not "the nearest restricted ancestor". Principals are namespaced
strings: `u:<id>` for a user, `g:<id>` for a group (Server/DC: username and group name; Cloud:
accountId and group id). Missing data denies: a layer that could not be read is `DENY_LAYER`, which
no principal passes, and a space whose permissions could not be read grants nobody.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field

USER = "u:"
GROUP = "g:"
DENY = "!deny"  # a principal nobody has: the layer of an ancestor whose restriction could not be read
DENY_LAYER: tuple[str, ...] = (DENY,)

Layer = tuple[str, ...]
Layers = tuple[Layer, ...]


def user_principal(user_id: str) -> str:
    return USER + user_id


def group_principal(group_id: str) -> str:
    return GROUP + group_id


def canonical(layers: Iterable[Iterable[str]]) -> Layers:
    """Sorted principals in each layer, empty layers dropped, duplicate layers merged, layers sorted."""
    return tuple(sorted({tuple(sorted(set(layer))) for layer in layers if layer}))


@dataclass(frozen=True)
class SpaceGrant:
    """Who may view a space: principals (users and groups) plus the anonymous flag."""

    principals: frozenset[str] = frozenset()
    anonymous: bool = False

    def to_json(self) -> str:
        return json.dumps({"principals": sorted(self.principals), "anonymous": self.anonymous})

    @classmethod
    def from_json(cls, text: str) -> SpaceGrant:
        data = json.loads(text)
        return cls(frozenset(data.get("principals", [])), bool(data.get("anonymous")))


PUBLIC = SpaceGrant(anonymous=True)
NOBODY = SpaceGrant()


def layers_json(layers: Layers) -> str:
    return json.dumps([list(layer) for layer in layers], separators=(",", ":"))


def layers_from_json(text: str) -> Layers:
    return tuple(tuple(layer) for layer in json.loads(text))


def access_key(space_key: str, layers: Layers) -> str:
    """Short hash of (space, layers): the one value a chunk is filtered on at query time."""
    payload = json.dumps([space_key, [list(layer) for layer in layers]], separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def passes(principals: frozenset[str], layers: Layers) -> bool:
    """True when the principals pass every restriction layer (intersection over layers)."""
    return all(not principals.isdisjoint(layer) for layer in layers)


def can_view_space(principals: frozenset[str], grant: SpaceGrant) -> bool:
    return grant.anonymous or not principals.isdisjoint(grant.principals)


def can_read(principals: frozenset[str], grant: SpaceGrant, layers: Layers) -> bool:
    """Atlassian's rule. `principals` = the user's `u:` id plus their `g:` groups (empty: anonymous)."""
    return can_view_space(principals, grant) and passes(principals, layers)


@dataclass
class SpaceAccess:
    """What one permission pass read for a space: the space grant, each page's layers, group members."""

    space_key: str
    grant: SpaceGrant
    pages: dict[str, Layers] = field(default_factory=dict)  # page id → its layers and its ancestors'
    groups: dict[str, frozenset[str]] = field(default_factory=dict)  # g:… → its u:… members
    problems: list[str] = field(default_factory=list)  # what could not be read (denied), for the job report
    # Where each page's layers come from, for operators ("why can X read Y"), not for the decision:
    chains: dict[str, tuple[str, ...]] = field(default_factory=dict)  # page id → ancestor ids root first, then itself
    own: dict[str, Layer | None] = field(default_factory=dict)  # content id → its own read layer (None: unreadable)
    read_at: str = ""  # when the pass started reading Confluence (ISO 8601, UTC)

    def layers_for(self, page_id: str, parent_id: str = "") -> Layers:
        """A page's layers; an attachment takes its page's; a page the pass did not see is denied."""
        for key in (page_id, parent_id):
            if key and key in self.pages:
                return self.pages[key]
        return (DENY_LAYER,)

    def to_json(self) -> str:
        """The whole pass as JSON (a distributed run hands it to its workers through Redis)."""
        return json.dumps(
            {
                "space_key": self.space_key,
                "grant": json.loads(self.grant.to_json()),
                "pages": {page_id: [list(layer) for layer in layers] for page_id, layers in self.pages.items()},
                "groups": {group: sorted(members) for group, members in self.groups.items()},
                "problems": self.problems,
                "chains": self.chains,
                "own": {cid: None if layer is None else list(layer) for cid, layer in self.own.items()},
                "read_at": self.read_at,
            },
            separators=(",", ":"),
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> SpaceAccess:
        data = json.loads(text)
        return cls(
            space_key=data["space_key"],
            grant=SpaceGrant.from_json(json.dumps(data["grant"])),
            pages={page_id: tuple(tuple(layer) for layer in layers) for page_id, layers in data["pages"].items()},
            groups={group: frozenset(members) for group, members in data["groups"].items()},
            problems=list(data["problems"]),
            chains={page_id: tuple(chain) for page_id, chain in data.get("chains", {}).items()},
            own={cid: None if layer is None else tuple(layer) for cid, layer in data.get("own", {}).items()},
            read_at=data.get("read_at", ""),
        )


def referenced_groups(grant: SpaceGrant, layers: Iterable[Layers]) -> set[str]:
    """Every group principal in the space grant or in any layer (their members are fetched)."""
    found = {p for p in grant.principals if p.startswith(GROUP)}
    for page_layers in layers:
        for layer in page_layers:
            found.update(p for p in layer if p.startswith(GROUP))
    return found
