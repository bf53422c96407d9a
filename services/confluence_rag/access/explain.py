"""Why a user can (or cannot) read a page: the rule of access/rule.py, spelled out for operators.

Built only from what the index holds, the same records the query replicas decide on: the page's
layers on its chunks (what is enforced), the space grant, the group members, plus the operators'
`access_trail` (which ancestor each layer belongs to, when the pass read it) and `groups_read`.
The user's principals come from `AccessView.principals`, the function every query uses, so the
explanation and the enforcement cannot drift apart.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from confluence_rag import index_schema as keys
from confluence_rag.access.rule import (
    DENY,
    SpaceGrant,
    can_read,
    can_view_space,
    layers_from_json,
    passes,
)
from confluence_rag.access.store import load_grants, load_groups, load_groups_read, load_trail
from confluence_rag.access.view import AccessView
from confluence_rag.auth.identity import Identity
from confluence_rag.components.vector_store import ChunkStore
from confluence_rag.settings import Settings


class PageNotIndexed(LookupError):
    """The page id is not in the index."""


@dataclass
class SpaceGrantCheck:
    space_key: str
    known: bool  # False: no permission pass stored a grant for the space (nobody may read it)
    anonymous: bool
    principals: list[str]
    matched: list[str]  # the user's principals among the grant's
    grants: bool
    read_at: str | None


@dataclass
class LayerCheck:
    """One read restriction the page must pass: its own, or an ancestor's."""

    content_id: str | None  # the page or ancestor that holds it; None when the pass did not record it
    title: str | None
    restricted: bool  # False: this content has no read restriction (it binds nothing)
    unreadable: bool  # its restriction could not be read: it denies everyone
    principals: list[str]
    matched: list[str]
    passes: bool


@dataclass
class GroupCheck:
    group: str
    read_at: str | None


@dataclass
class AccessExplanation:
    user: str | None
    page_id: str
    title: str
    space_key: str
    enforced: bool  # False: PERMISSIONS=off, every indexed page is readable
    groups_source: str
    principals: list[str]  # u:… and g:… as the product knows them for this user
    groups: list[GroupCheck]
    space: SpaceGrantCheck
    layers: list[LayerCheck]
    layers_read_at: str | None  # when the permission pass last read the space's restrictions
    can_read: bool
    reasons: list[str] = field(default_factory=list)


def explain_access(
    store: ChunkStore, settings: Settings, user: str | None, page_id: str, token_groups: frozenset[str] = frozenset()
) -> AccessExplanation:
    """The decision for (user, page) and every fact it rests on; PageNotIndexed for an unknown page."""
    got = store.collection.get(where={keys.PAGE_ID: page_id}, include=["metadatas"], limit=1)
    if not got["ids"]:
        raise PageNotIndexed(page_id)
    meta = got["metadatas"][0]
    space_key = str(meta.get(keys.SPACE_KEY, ""))
    grants = load_grants(store)
    view = AccessView([], grants, load_groups(store))
    principals = view.principals(Identity(user, token_groups, False), settings.groups_source)
    trail = load_trail(store, space_key)
    read_at = trail.get("read_at") or None
    groups_read = load_groups_read(store)

    grant = grants.get(space_key)
    space = _space_check(space_key, grant, principals, read_at)
    try:
        layers = layers_from_json(meta[keys.ACCESS_LAYERS])
    except (KeyError, ValueError, TypeError):
        layers = None  # indexed without access metadata: nobody may read it
    checks = _layer_checks(trail, meta, page_id, layers or (), principals)
    allowed = grant is not None and layers is not None and can_read(principals, grant, layers)

    reasons = _reasons(user, space, checks, layers is None, allowed)
    if not settings.permissions_enabled:
        allowed = True
        reasons = ["Permissions are off (PERMISSIONS=off): every indexed page is readable by everyone."]
    return AccessExplanation(
        user=user,
        page_id=page_id,
        title=str(meta.get(keys.TITLE, "")),
        space_key=space_key,
        enforced=settings.permissions_enabled,
        groups_source=settings.groups_source,
        principals=sorted(principals),
        groups=[GroupCheck(p, groups_read.get(p) or None) for p in sorted(principals) if p.startswith("g:")],
        space=space,
        layers=checks,
        layers_read_at=read_at,
        can_read=allowed,
        reasons=reasons,
    )


def _space_check(
    space_key: str, grant: SpaceGrant | None, principals: frozenset[str], read_at: str | None
) -> SpaceGrantCheck:
    if grant is None:
        return SpaceGrantCheck(space_key, False, False, [], [], False, None)
    return SpaceGrantCheck(
        space_key=space_key,
        known=True,
        anonymous=grant.anonymous,
        principals=sorted(grant.principals),
        matched=sorted(principals & grant.principals),
        grants=can_view_space(principals, grant),
        read_at=read_at,
    )


def _layer_checks(trail: dict, meta: dict, page_id: str, layers: tuple, principals: frozenset[str]) -> list[LayerCheck]:
    """Each content of the page's chain with its own layer when the trail has it; otherwise the
    enforced layers alone, without their origin (indexed before trails were recorded)."""
    lookup_id = page_id if page_id in trail.get("chains", {}) else str(meta.get(keys.PARENT_ID) or "")
    chain = trail.get("chains", {}).get(lookup_id)
    if chain is None:
        return [_check(None, None, layer, principals) for layer in layers]
    titles = [*json.loads(meta.get(keys.BREADCRUMB) or "[]"), meta.get(keys.TITLE, "")]
    named = dict(zip(chain, titles, strict=False)) if len(titles) == len(chain) else {}
    own = trail.get("own", {})
    return [_check(cid, named.get(cid), own.get(cid, [DENY]), principals) for cid in chain]


def _check(
    content_id: str | None, title: str | None, layer: list | tuple | None, principals: frozenset[str]
) -> LayerCheck:
    unreadable = layer is None or DENY in layer
    members = () if layer is None else tuple(layer)
    return LayerCheck(
        content_id=content_id,
        title=title,
        restricted=bool(members) or unreadable,
        unreadable=unreadable,
        principals=[] if unreadable else sorted(members),
        matched=sorted(principals.intersection(members)),
        passes=not unreadable and (not members or passes(principals, (members,))),
    )


def _reasons(
    user: str | None, space: SpaceGrantCheck, layers: list[LayerCheck], no_access: bool, allowed: bool
) -> list[str]:
    """Plain sentences for a support desk, in the order the rule is applied."""
    who = "Anonymous" if user is None else "The user"
    reasons = []
    if not space.known:
        reasons.append(f"No permission pass has stored who may view space {space.space_key}: nobody may read it.")
    elif not space.grants:
        reasons.append(f"{who} is not granted view on space {space.space_key} (neither directly nor by a group).")
    if no_access:
        reasons.append("The page was indexed without access data: nobody may read it until the next pass.")
    for layer in layers:
        where = f"content {layer.content_id}" if layer.content_id else "a page or ancestor"
        if layer.unreadable:
            reasons.append(f"The read restriction of {where} could not be read from Confluence: it denies everyone.")
        elif not layer.passes:
            reasons.append(f"{who} is in none of the users or groups of the read restriction on {where}.")
    if allowed:
        reasons.append(f"{who} views the space and passes every read restriction: the page is readable.")
    return reasons
