"""Who may read which chunks, decided before anything is ranked or cut.

Every chunk carries an access key: a hash of (space, restriction layers). An index holds few
distinct keys (one per distinct space + layers combination), so the rule (access/rule.py) is
evaluated once per key, not per chunk: for a user's principals the readable keys form a boolean
vector, cached per (principals, index generation). From it:
- the keyword index gets a 0/1 weight per chunk: BM25 scores only readable chunks, and takes its
  statistics (N, lengths, document frequencies) from them only (retrieval/bm25.py);
- the Chroma vector query is post-filtered from an oversampled query when the identity may read a
  good share of the index (Chroma's own metadata filter costs tens of ms on 13,000 chunks, whatever
  the clause: measured in docs/bench/permissions.md), and otherwise, or when the oversampled
  query holds fewer than the wanted number of readable chunks, gets `where access_key $in [readable
  keys]`. Either way the vector candidates are the best readable ones: the cut comes after the filter;
- the space list and its counts come from the readable chunks only.
All of that uses the replica's keyword snapshot, which is rebuilt in the background after a change.
So that a revocation never waits for a rebuild, `CurrentAccess` checks each final result against the
access Chroma holds now (the chunk's own metadata, the space grants and group members re-read when
the generation moved) just before it is returned: a grant may lag by one rebuild, a revocation not.
A chunk without access metadata (indexed before permissions were on, or written while its page's
access was unknown) has the empty key, which nobody may read.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from confluence_rag import index_schema as keys
from confluence_rag.access.rule import (
    SpaceGrant,
    can_read,
    can_view_space,
    group_principal,
    layers_from_json,
    user_principal,
)
from confluence_rag.access.store import load_grants, load_groups
from confluence_rag.auth.identity import Identity
from confluence_rag.components.vector_store import ChunkStore

CACHE_ENTRIES = 4096


@dataclass(frozen=True)
class Readable:
    """What one set of principals may read in one snapshot."""

    keys: np.ndarray  # bool per distinct access key
    chunks: np.ndarray  # float32 0/1 per chunk (the BM25 weights)
    key_set: frozenset[str]
    everything: bool
    fraction: float  # share of the snapshot's chunks that are readable


class AccessView:
    """The access facts of one index snapshot: distinct keys, space grants, group memberships."""

    def __init__(self, metadatas: list[dict], grants: dict[str, SpaceGrant], groups: dict[str, list[str]]):
        self.grants = grants
        self.key_list: list[str] = [""]  # index 0: no access metadata, never readable
        self.key_info: list[tuple[str, tuple] | None] = [None]
        index: dict[str, int] = {"": 0}
        chunk_keys = np.zeros(len(metadatas), dtype=np.int32)
        for i, meta in enumerate(metadatas):
            key = meta.get(keys.ACCESS_KEY) or ""
            if key not in index:
                try:
                    info = (str(meta.get(keys.SPACE_KEY, "")), layers_from_json(meta[keys.ACCESS_LAYERS]))
                except (KeyError, ValueError, TypeError):
                    info = None  # unreadable metadata: deny
                index[key] = len(self.key_list)
                self.key_list.append(key)
                self.key_info.append(info)
            chunk_keys[i] = index[key]
        self.chunk_keys = chunk_keys
        self.user_groups = groups_by_user(groups)
        self._cache: dict[frozenset[str], Readable] = {}
        self._lock = threading.Lock()

    def principals(self, identity: Identity, groups_source: str = "confluence") -> frozenset[str]:
        return principals_of(identity, groups_source, self.user_groups)

    def readable(self, principals: frozenset[str]) -> Readable:
        cached = self._cache.get(principals)
        if cached is not None:
            return cached
        allowed = np.zeros(len(self.key_list), dtype=bool)
        for i, info in enumerate(self.key_info):
            if info is None:
                continue
            space, layers = info
            grant = self.grants.get(space)
            allowed[i] = grant is not None and can_read(principals, grant, layers)
        used = np.unique(self.chunk_keys) if len(self.chunk_keys) else np.zeros(0, dtype=np.int32)
        result = Readable(
            keys=allowed,
            chunks=allowed[self.chunk_keys].astype(np.float32),
            key_set=frozenset(self.key_list[i] for i in np.flatnonzero(allowed)),
            everything=bool(allowed[used].all()) if len(used) else True,
            fraction=float(allowed[self.chunk_keys].mean()) if len(self.chunk_keys) else 0.0,
        )
        with self._lock:
            if len(self._cache) >= CACHE_ENTRIES:
                self._cache.clear()
            self._cache[principals] = result
        return result


def groups_by_user(groups: dict[str, list[str]]) -> dict[str, frozenset[str]]:
    """u:… → the g:… groups it is a member of (the stored table is group → members)."""
    members_of: dict[str, set[str]] = {}
    for group, members in groups.items():
        for member in members:
            members_of.setdefault(member, set()).add(group)
    return {user: frozenset(found) for user, found in members_of.items()}


def principals_of(identity: Identity, groups_source: str, user_groups: dict[str, frozenset[str]]) -> frozenset[str]:
    """The identity's `u:` and `g:` principals; anonymous (or unmapped) → none. With
    GROUPS_SOURCE=token the groups are the token's (as current as the token); else Confluence's."""
    if identity.user is None:
        return frozenset()
    user = user_principal(identity.user)
    if groups_source == "token":
        return frozenset({user, *(group_principal(g) for g in identity.groups)})
    return frozenset({user}) | user_groups.get(user, frozenset())


class CurrentAccess:
    """The space grants and group members as Chroma holds them now, for the last check of a result.

    Re-read whenever the index generation moved (every writer bumps it after saving the tables), so
    the check costs one small Chroma read per search, plus two when access changed."""

    def __init__(self) -> None:
        self._generation: str | None = None
        self._grants: dict[str, SpaceGrant] = {}
        self._user_groups: dict[str, frozenset[str]] = {}
        self._lock = threading.Lock()

    def refresh(self, store: ChunkStore) -> None:
        generation = store.generation()
        if generation == self._generation:
            return
        grants, user_groups = load_grants(store), groups_by_user(load_groups(store))
        with self._lock:
            self._generation, self._grants, self._user_groups = generation, grants, user_groups

    def principals(self, identity: Identity, groups_source: str) -> frozenset[str]:
        return principals_of(identity, groups_source, self._user_groups)

    def may_view(self, principals: frozenset[str], space_key: str) -> bool:
        grant = self._grants.get(space_key)
        return grant is not None and can_view_space(principals, grant)

    def allows(self, principals: frozenset[str], metadata: dict) -> bool:
        """Atlassian's rule on a chunk's current metadata; unreadable or missing metadata denies."""
        if not metadata.get(keys.ACCESS_KEY):
            return False
        try:
            layers = layers_from_json(metadata[keys.ACCESS_LAYERS])
        except (KeyError, ValueError, TypeError):
            return False
        grant = self._grants.get(str(metadata.get(keys.SPACE_KEY, "")))
        return grant is not None and can_read(principals, grant, layers)


def chroma_access_where(readable: Readable) -> dict | None:
    """The vector query's access clause; None when every chunk is readable."""
    if readable.everything:
        return None
    return {keys.ACCESS_KEY: {"$in": sorted(readable.key_set)}}
