"""Attachments as their own documents: text formats, all of them (not only 50), caps, deletions."""

from __future__ import annotations

import io
import zipfile

import pytest

from confluence_rag.container import Components
from confluence_rag.ingestion.attachments import attachment_kind, extract_text
from confluence_rag.retrieval.search import SearchService
from confluence_rag.worker.runs import ingest_space
from tests.conftest import confluence_settings
from tests.fakes.confluence import FakeConfluence, sample_space


def make_pdf(text: str) -> bytes:
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    pdf.drawString(72, 720, text)
    pdf.save()
    return buffer.getvalue()


def make_docx(text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
            'package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>',
        )
        z.writestr(
            "word/document.xml",
            '<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
            f'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>',
        )
    return buffer.getvalue()


def test_extractors():
    assert "Quarterly budget" in extract_text("pdf", make_pdf("Quarterly budget is 42 kiloeuros"))
    assert extract_text("docx", make_docx("Politique de sécurité")) == "Politique de sécurité"
    assert "| a | b |" in extract_text("csv", b"a,b\n1,2\n")
    assert "alert" not in extract_text("html", b"<h1>T</h1><script>alert(1)</script>")
    assert attachment_kind("application/octet-stream", "notes.MD") == "text"
    assert attachment_kind("image/png", "diagram.png") is None


@pytest.fixture
def fake():
    fake = FakeConfluence(page_cap=10)
    pages = sample_space(fake, "ENG")
    deploy = pages["deploy"].id
    fake.add_attachment(deploy, "budget.pdf", "application/pdf", make_pdf("The zephyr cluster budget is 42 kiloeuros"))
    fake.add_attachment(
        deploy,
        "policy.docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        make_docx("Security policy: rotate the wombat keys every 30 days"),
    )
    fake.add_attachment(deploy, "diagram.png", "image/png", b"\x89PNG not text")
    fake.add_attachment(deploy, "huge.txt", "text/plain", b"capybara " * 200_000)
    for i in range(60):  # more than the reader's 50
        fake.add_attachment(
            pages["oncall"].id,
            f"shift-{i:02d}.md",
            "text/markdown",
            f"# Shift {i}\nEngineer number {i} covers shift {i}.".encode(),
        )
    fake.start()
    yield fake
    fake.stop()


def test_attachments_are_indexed_linked_and_kept_in_step(fake, make_settings):
    components = Components(
        make_settings(**confluence_settings(fake), confluence_include_attachments=True, attachment_max_bytes=1_000_000)
    )
    stats = ingest_space(components, "ENG")
    got = components.store().collection.get(where={"kind": "attachment"}, include=["metadatas"])
    titles = {m["title"] for m in got["metadatas"]}
    assert {"budget.pdf", "policy.docx", "shift-00.md", "shift-59.md"} <= titles
    assert len([t for t in titles if t.startswith("shift-")]) == 60
    assert "diagram.png" not in titles and "huge.txt" not in titles  # unsupported type, size cap
    budget = next(m for m in got["metadatas"] if m["title"] == "budget.pdf")
    deploy = next(p for p in fake.pages.values() if p.title == "Deployment guide")
    assert budget["parent_id"] == deploy.id and budget["url"].startswith(fake.base_url + "/download/attachments/")
    assert stats.pages_failed == 0

    hit = SearchService(components).search("wombat keys rotation", top_k=1)[0]
    assert hit.title == "policy.docx"

    again = ingest_space(components, "ENG")
    assert again.mode == "incremental" and again.chunks_written == 0
    gone = next(a for a in fake.attachments.values() if a.title == "shift-07.md")
    del fake.attachments[gone.id]
    third = ingest_space(components, "ENG")
    assert third.pages_deleted == 1
    remaining = components.store().collection.get(where={"kind": "attachment"}, include=["metadatas"])
    assert "shift-07.md" not in {m["title"] for m in remaining["metadatas"]}
