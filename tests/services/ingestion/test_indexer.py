"""The indexer's pipeline: length-ordered embedding and the Chroma writer thread, on real parts."""

from __future__ import annotations

import pytest

from confluence_rag.container import Components
from confluence_rag.ingestion.indexer import PAGE_BATCH, ByLength
from confluence_rag.worker.runs import ingest_space
from tests.conftest import ChromaServer, confluence_settings


def test_by_length_orders_nodes_by_the_text_the_model_embeds():
    from llama_index.core.schema import MetadataMode, TextNode

    nodes = [TextNode(text="x" * n, id_=str(n)) for n in (50, 5, 500, 20)]
    nodes[1].metadata = {"context": "y" * 100}  # embedded metadata counts: 5 + context
    nodes[1].excluded_embed_metadata_keys = []
    ordered = ByLength()(nodes)
    lengths = [len(n.get_content(MetadataMode.EMBED)) for n in ordered]
    assert lengths == sorted(lengths)
    assert {n.id_ for n in ordered} == {"50", "5", "500", "20"}
    assert [n.id_ for n in ordered][-2:] == ["5", "500"]


def test_a_chroma_failure_mid_run_stops_the_sync_and_keeps_written_batches(fake_confluence, make_settings, tmp_path):
    for i in range(PAGE_BATCH + 8):
        fake_confluence.add_page("ENG", f"Note {i:02d}", f"<p>Runbook note {i} about the quokka service.</p>")
    server = ChromaServer(tmp_path / "chroma-server")
    server.start()
    try:
        settings = make_settings(
            **confluence_settings(fake_confluence), chroma_host="127.0.0.1", chroma_port=server.port
        )
        components = Components(settings)
        reports: list[int] = []

        def progress(stats) -> None:
            reports.append(stats.pages_done)
            if stats.pages_done >= PAGE_BATCH:
                server.stop()  # from the writer thread, right after the first batch is stored

        with pytest.raises(Exception):  # noqa: B017 (the HTTP client's own connection error)
            ingest_space(components, "ENG", progress=progress)
        assert reports == [PAGE_BATCH]

        server.start()
        components.forget_store()
        stored = components.store().collection.get(include=["metadatas"])["metadatas"]
        assert len({m["page_id"] for m in stored}) == PAGE_BATCH
        again = ingest_space(components, "ENG")
        assert again.pages_added == len(fake_confluence.pages) - PAGE_BATCH
        ids = components.store().collection.get()["ids"]
        assert len(ids) == len(set(ids))
    finally:
        server.stop()
