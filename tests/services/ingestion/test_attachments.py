"""Attachments as their own documents: text formats, all of them (not only 50), caps, deletions."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote

import pytest

from confluence_rag import index_schema as keys
from confluence_rag.container import Components
from confluence_rag.ingestion.attachments import UnreadableAttachment, attachment_kind, extract_text
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


# --- Office files: real public files (attachment_files/README.md), XLSX and PPTX, unreadable ones ---------

FILES = Path(__file__).parent / "attachment_files"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"


def make_xlsx(sheets: dict[str, list[list]]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


BUDGET = {
    "Budget 2026": [["Poste", "Montant (k€)"], ["Serveurs", 120], ["Licences", 45]],
    "Astreinte": [["Semaine", "Ingénieur"], [12, "Camille Dubois"], [13, "Hugo Lefèvre"]],
}


def test_office_files_are_read_sheet_by_sheet_and_slide_by_slide():
    assert (
        extract_text("xlsx", (FILES / "example.xlsx").read_bytes()) == "## Sheet1\n\n| lorem | ipsum |\n| --- | --- |"
    )
    budget = extract_text("xlsx", make_xlsx(BUDGET))
    assert "## Budget 2026\n\n| Poste | Montant (k€) |\n| --- | --- |\n| Serveurs | 120 |" in budget
    assert "## Astreinte\n\n| Semaine | Ingénieur |\n| --- | --- |\n| 12 | Camille Dubois |" in budget
    slides = extract_text("pptx", (FILES / "test_slides.pptx").read_bytes())
    assert slides.startswith("## Slide 1\n\nTest text\n\nGroup test text")  # grouped shapes too
    assert "| Col head 1 | Col head 2 |\n| --- | --- |\n| Cell text 1 | Cell text 2 |" in slides
    assert extract_text("docx", (FILES / "example.docx").read_bytes()) == "Lorem ipsum"
    assert "Heres to the crazy ones" in extract_text("pdf", (FILES / "crazyones.pdf").read_bytes())
    assert attachment_kind("application/octet-stream", "Budget.XLSX") == "xlsx"
    assert attachment_kind(PPTX, "deck") == "pptx"


@pytest.mark.parametrize(
    ("kind", "name", "reason"),
    [
        ("xlsx", "example_password.xlsx", "encrypted"),
        ("pdf", "r4-user-password.pdf", "encrypted PDF"),
        ("pptx", "corrupt_test_slides.pptx", "corrupt or unreadable pptx file"),
    ],
)
def test_unreadable_files_say_why(kind, name, reason):
    with pytest.raises(UnreadableAttachment, match=reason):
        extract_text(kind, (FILES / name).read_bytes())


def test_a_file_slower_than_its_time_budget_is_given_up():
    rows = [["ligne", i] for i in range(3000)]
    with pytest.raises(UnreadableAttachment, match="ATTACHMENT_MAX_SECONDS"):
        extract_text("xlsx", make_xlsx({"Grand": rows}), max_seconds=1e-6)


@pytest.fixture
def office_fake():
    fake = FakeConfluence(page_cap=10)
    pages = sample_space(fake, "ENG")
    deploy = pages["deploy"].id
    fake.add_user("camille", "Camille Dubois")
    fake.set_read_restriction(deploy, users=["camille"])
    fake.add_attachment(deploy, "budget.xlsx", XLSX, make_xlsx(BUDGET))
    fake.add_attachment(deploy, "example.xlsx", XLSX, (FILES / "example.xlsx").read_bytes())
    fake.add_attachment(deploy, "test_slides.pptx", PPTX, (FILES / "test_slides.pptx").read_bytes())
    fake.add_attachment(deploy, "crazyones.pdf", "application/pdf", (FILES / "crazyones.pdf").read_bytes())
    fake.add_attachment(deploy, "coffre.xlsx", XLSX, (FILES / "example_password.xlsx").read_bytes())
    fake.add_attachment(deploy, "secret.pdf", "application/pdf", (FILES / "r4-user-password.pdf").read_bytes())
    fake.add_attachment(deploy, "broken.pptx", PPTX, (FILES / "corrupt_test_slides.pptx").read_bytes())
    for att in fake.attachments.values():  # older than the sync overlap: an incremental sync has no reason to read them
        att.when = datetime.now(UTC) - timedelta(hours=1)
    fake.start()
    yield fake
    fake.stop()


def test_office_attachments_are_indexed_cited_permitted_and_synced(office_fake, make_settings, chroma_server):
    fake = office_fake
    components = Components(
        make_settings(
            **confluence_settings(fake),
            confluence_include_attachments=True,
            permissions="confluence",
            chroma_host="127.0.0.1",
            chroma_port=chroma_server.port,
        )
    )
    stats = ingest_space(components, "ENG")
    collection = components.store().collection
    chunks = collection.get(where={"kind": "attachment"}, include=["metadatas", "documents"])["metadatas"]
    by_title: dict[str, list[dict]] = {}
    for meta in chunks:
        by_title.setdefault(meta["title"], []).append(meta)
    assert set(by_title) == {"budget.xlsx", "example.xlsx", "test_slides.pptx", "crazyones.pdf"}
    assert {m["heading"] for m in by_title["budget.xlsx"]} == {"Budget 2026", "Astreinte"}  # one section a sheet
    assert {m["heading"] for m in by_title["test_slides.pptx"]} == {"Slide 1"}
    budget = fake.attachments[next(i for i, a in fake.attachments.items() if a.title == "budget.xlsx")]
    for meta in by_title["budget.xlsx"]:  # cited to the file itself, under its page's permissions
        assert meta["url"] == f"{fake.base_url}/download/attachments/{budget.page_id}/budget.xlsx?version=1&api=v2"
    page_chunk = collection.get(where={"page_id": budget.page_id}, include=["metadatas"])["metadatas"][0]
    assert page_chunk[keys.ACCESS_KEY] and all(
        m[keys.ACCESS_KEY] == page_chunk[keys.ACCESS_KEY] for metas in by_title.values() for m in metas
    )
    # Unreadable files: one clear line each, and the sync succeeds.
    assert stats.pages_failed == 0
    skipped = sorted(line.split(" ", 1)[1] for line in stats.failures)
    assert skipped == [
        "broken.pptx: skipped, corrupt or unreadable pptx file (BadZipFile)",
        "coffre.xlsx: skipped, encrypted (password-protected) or not an Office Open XML file",
        "secret.pdf: skipped, encrypted PDF (a password is needed to open it)",
    ]
    texts = collection.get(where={"title": "budget.xlsx"}, include=["documents"])["documents"]
    assert any("| 12 | Camille Dubois |" in t for t in texts)

    # Incremental: unchanged files are not downloaded again (the unreadable ones are retried).
    fake.requests.clear()
    again = ingest_space(components, "ENG")
    downloads = sorted(unquote(r.split("/")[-1].split("?")[0]) for r in fake.requests if "/download/" in r)
    assert again.mode == "incremental" and again.chunks_written == 0
    assert downloads == ["broken.pptx", "coffre.xlsx", "secret.pdf"]

    # A new version of a workbook is read again, and its old text leaves the index.
    budget.data, budget.version = make_xlsx({"Astreinte": [["Semaine", "Ingénieur"], [12, "Zoé Martin"]]}), 2
    budget.when = datetime.now(UTC)
    third = ingest_space(components, "ENG")
    assert third.pages_updated == 1
    texts = collection.get(where={"title": "budget.xlsx"}, include=["documents"])["documents"]
    assert any("Zoé Martin" in t for t in texts) and not any("Camille Dubois" in t for t in texts)

    # A file that becomes unreadable is reported and its old text removed.
    budget.data, budget.version, budget.when = (FILES / "corrupt_test_slides.pptx").read_bytes(), 3, datetime.now(UTC)
    fourth = ingest_space(components, "ENG")
    assert fourth.pages_failed == 0 and any(
        line.endswith("budget.xlsx: skipped, corrupt or unreadable xlsx file (BadZipFile)") for line in fourth.failures
    )
    assert not collection.get(where={"title": "budget.xlsx"})["ids"]
