"""Writing read access into the index: per chunk, and the space / group tables every replica reads.

Per chunk: the page's restriction layers (canonical JSON) and the access key. They are not part of
the page's content hash, so an access-only change never re-embeds: `apply_access` rewrites the two
keys in place (Chroma `update`, embeddings untouched), in the chunk's Chroma metadata and in the
node JSON LlamaIndex keeps beside it.
Side records (ChunkStore.meta): one `space_grant` per space (who may view it) and one `groups`
record (group → members, for every group in any grant or layer; each pass refreshes the groups it
read). The generation is bumped after a change, so query replicas reload.
For operators only (never read by a query): one `access_trail` per space (when the pass read it,
each page's chain of ancestors and each content's own layer) and one `groups_read` record (group →
when a pass last read its members). They change every pass and bump nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from confluence_rag import index_schema as keys
from confluence_rag.access.rule import (
    Layers,
    SpaceAccess,
    SpaceGrant,
    access_key,
    layers_json,
)
from confluence_rag.components.vector_store import ChunkStore

SPACE_GRANT = "space_grant"
GROUPS = "groups"
GROUPS_ID = "access:groups"
TRAIL = "access_trail"
GROUPS_READ = "groups_read"
GROUPS_READ_ID = "access:groups_read"
READ_BATCH = 5000
UPDATE_BATCH = 1000


def space_record_id(space_key: str) -> str:
    return f"access:space:{space_key}"


def trail_record_id(space_key: str) -> str:
    return f"access:trail:{space_key}"


def access_metadata(space_key: str, layers: Layers) -> dict[str, str]:
    return {keys.ACCESS_LAYERS: layers_json(layers), keys.ACCESS_KEY: access_key(space_key, layers)}


@dataclass
class AccessUpdate:
    chunks_updated: int = 0
    pages_updated: int = 0
    pages_deleted: int = 0
    tables_changed: bool = False


def apply_access(store: ChunkStore, access: SpaceAccess, *, delete_missing: bool = False) -> AccessUpdate:
    """Bring every chunk of the space to the access the pass computed; store the tables; bump once.

    With `delete_missing` (the scheduled pass, whose listing is the whole scope now), the chunks of
    pages the listing no longer holds (deleted, trashed, moved out of scope) are deleted, not just
    denied: an attachment stays while its page is listed. A sync's own pass leaves that to the sync
    (its listing was read before pages it has just added)."""
    result = AccessUpdate()
    ids: list[str] = []
    metas: list[dict] = []
    offset = 0
    while True:
        got = store.collection.get(
            where={keys.SPACE_KEY: access.space_key}, include=["metadatas"], limit=READ_BATCH, offset=offset
        )
        ids += got["ids"]
        metas += got["metadatas"]
        if len(got["ids"]) < READ_BATCH:
            break
        offset += READ_BATCH
    changed_ids: list[str] = []
    changed_metas: list[dict] = []
    pages: set[str] = set()
    gone_ids: list[str] = []
    gone_pages: set[str] = set()
    for chunk_id, meta in zip(ids, metas, strict=True):
        page_id, parent_id = str(meta.get(keys.PAGE_ID, "")), str(meta.get(keys.PARENT_ID) or "")
        # An empty listing deletes nothing (a Confluence hiccup must not empty the index; the pages stay denied).
        if delete_missing and access.pages and page_id not in access.pages and parent_id not in access.pages:
            gone_ids.append(chunk_id)
            gone_pages.add(page_id)
            continue
        wanted = access_metadata(access.space_key, access.layers_for(page_id, parent_id))
        if (
            meta.get(keys.ACCESS_KEY) == wanted[keys.ACCESS_KEY]
            and meta.get(keys.ACCESS_LAYERS) == wanted[keys.ACCESS_LAYERS]
        ):
            continue
        update = dict(wanted)
        node_json = meta.get("_node_content")
        if node_json:  # LlamaIndex rebuilds nodes (and their metadata) from this JSON
            node = json.loads(node_json)
            node.setdefault("metadata", {}).update(wanted)
            update["_node_content"] = json.dumps(node, ensure_ascii=False)
        changed_ids.append(chunk_id)
        changed_metas.append(update)
        pages.add(str(meta.get(keys.PAGE_ID)))
    for start in range(0, len(changed_ids), UPDATE_BATCH):
        store.collection.update(
            ids=changed_ids[start : start + UPDATE_BATCH], metadatas=changed_metas[start : start + UPDATE_BATCH]
        )
    for start in range(0, len(gone_ids), UPDATE_BATCH):
        store.collection.delete(ids=gone_ids[start : start + UPDATE_BATCH])
    result.chunks_updated, result.pages_updated, result.pages_deleted = len(changed_ids), len(pages), len(gone_pages)
    result.tables_changed = save_tables(store, access)
    save_trail(store, access)
    if changed_ids or gone_ids or result.tables_changed:
        store.bump_generation()
    return result


def save_tables(store: ChunkStore, access: SpaceAccess) -> bool:
    """Store the space grant and refresh the groups this pass read; True when anything changed."""
    changed = False
    grant_id = space_record_id(access.space_key)
    grant_text = access.grant.to_json()
    if store.records(SPACE_GRANT).get(grant_id) != grant_text:
        store.put_record(grant_id, SPACE_GRANT, grant_text)
        changed = True
    current = load_groups(store)
    merged = {**current, **{g: sorted(m) for g, m in access.groups.items()}}
    if merged != current:
        store.put_record(GROUPS_ID, GROUPS, json.dumps(merged, sort_keys=True))
        changed = True
    return changed


def save_trail(store: ChunkStore, access: SpaceAccess) -> None:
    """Record where each layer came from and when the pass read the space and its groups."""
    trail = {
        "read_at": access.read_at,
        "chains": {page_id: list(chain) for page_id, chain in access.chains.items()},
        "own": {cid: None if layer is None else list(layer) for cid, layer in access.own.items()},
    }
    store.put_record(trail_record_id(access.space_key), TRAIL, json.dumps(trail, ensure_ascii=False))
    if access.groups:
        read = {**load_groups_read(store), **dict.fromkeys(access.groups, access.read_at)}
        store.put_record(GROUPS_READ_ID, GROUPS_READ, json.dumps(read, sort_keys=True))


def load_trail(store: ChunkStore, space_key: str) -> dict:
    """The space's `access_trail` ({} before the first pass that recorded one)."""
    got = store.meta.get(ids=[trail_record_id(space_key)], include=["documents"])
    return json.loads(got["documents"][0]) if got["ids"] else {}


def load_groups_read(store: ChunkStore) -> dict[str, str]:
    got = store.meta.get(ids=[GROUPS_READ_ID], include=["documents"])
    return json.loads(got["documents"][0]) if got["ids"] else {}


def load_grants(store: ChunkStore) -> dict[str, SpaceGrant]:
    prefix = space_record_id("")
    return {rid.removeprefix(prefix): SpaceGrant.from_json(text) for rid, text in store.records(SPACE_GRANT).items()}


def load_groups(store: ChunkStore) -> dict[str, list[str]]:
    text = store.records(GROUPS).get(GROUPS_ID)
    return json.loads(text) if text else {}
