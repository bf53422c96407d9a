"""Space and label filters, applied identically to the vector and the keyword retrievers."""

from __future__ import annotations

from dataclasses import dataclass, field

from confluence_rag import index_schema as keys
from confluence_rag.index_schema import label_key


@dataclass(frozen=True)
class SearchFilters:
    spaces: tuple[str, ...] = field(default_factory=tuple)
    labels: tuple[str, ...] = field(default_factory=tuple)  # a chunk matches if it has any

    def chroma_where(self) -> dict | None:
        clauses: list[dict] = []
        if self.spaces:
            clauses.append({keys.SPACE_KEY: {"$in": list(self.spaces)}})
        if self.labels:
            label_clauses = [{label_key(lbl): True} for lbl in self.labels]
            clauses.append(label_clauses[0] if len(label_clauses) == 1 else {"$or": label_clauses})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def matches(self, metadata: dict) -> bool:
        if self.spaces and metadata.get(keys.SPACE_KEY) not in self.spaces:
            return False
        return not self.labels or any(metadata.get(label_key(lbl)) for lbl in self.labels)
