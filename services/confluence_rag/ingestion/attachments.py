"""Text of common attachment formats, for indexing attachments as their own documents.

Why not the reader's attachment handlers: they OCR PDFs (tesseract and poppler binaries, absent
here) instead of reading the text layer, read only the first 50 attachments of a page, glue the
text to the page without a separator and put error strings into it. We read the PDF text layer
with pypdf, DOCX with docx2txt, XLSX with openpyxl (read-only mode: rows are streamed, not the
whole workbook built in memory) sheet by sheet as Markdown tables, PPTX with python-pptx slide by
slide (text frames, tables, groups, speaker notes); text, Markdown, HTML and CSV directly. Other
types are skipped. Each sheet or slide becomes a `##` section, so the chunker keeps them apart and
a chunk names its sheet or slide.

A file that cannot be read raises `UnreadableAttachment` with a reason fit for the job report:
encrypted, corrupt, or longer to read than its time budget (checked between pages, rows and slides).
"""

from __future__ import annotations

import csv
import io
import logging
import time
from collections.abc import Iterable

from confluence_rag.ingestion.html_to_markdown import html_to_markdown

log = logging.getLogger(__name__)

SUPPORTED = {
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx",
    "text/plain": "text",
    "text/markdown": "text",
    "text/x-markdown": "text",
    "text/html": "html",
    "text/csv": "csv",
}
BY_EXTENSION = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".xlsx": "xlsx",
    ".pptx": "pptx",
    ".txt": "text",
    ".md": "text",
    ".markdown": "text",
    ".html": "html",
    ".htm": "html",
    ".csv": "csv",
}
OFFICE = ("docx", "xlsx", "pptx")
# An encrypted OOXML file is not a zip but an OLE compound file (MS-OFFCRYPTO), as are legacy .doc/.xls/.ppt.
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class UnreadableAttachment(Exception):
    """The attachment cannot be indexed; the message says why (no file content in it)."""


class Deadline:
    """The time budget of one file, checked between its pages, rows or slides."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self.end:
            raise UnreadableAttachment(f"took longer than {self.seconds:g} s to read (ATTACHMENT_MAX_SECONDS)")


def attachment_kind(media_type: str, filename: str) -> str | None:
    kind = SUPPORTED.get((media_type or "").split(";")[0].strip().lower())
    if kind:
        return kind
    dot = filename.rfind(".")
    return BY_EXTENSION.get(filename[dot:].lower()) if dot >= 0 else None


def extract_text(kind: str, data: bytes, max_seconds: float = 60.0) -> str:
    """Markdown text of an attachment; raises UnreadableAttachment when it cannot be read."""
    deadline = Deadline(max_seconds)
    if kind in OFFICE and data.startswith(OLE_MAGIC):
        raise UnreadableAttachment("encrypted (password-protected) or not an Office Open XML file")
    try:
        return _extract(kind, data, deadline)
    except UnreadableAttachment:
        raise
    except Exception as exc:  # every parser has its own errors for a damaged file
        raise UnreadableAttachment(f"corrupt or unreadable {kind} file ({type(exc).__name__})") from exc


def _extract(kind: str, data: bytes, deadline: Deadline) -> str:
    if kind == "pdf":
        return _pdf(data, deadline)
    if kind == "docx":
        import docx2txt

        return docx2txt.process(io.BytesIO(data)).strip()
    if kind == "xlsx":
        return _xlsx(data, deadline)
    if kind == "pptx":
        return _pptx(data, deadline)
    text = data.decode("utf-8", errors="replace")
    if kind == "html":
        return html_to_markdown(text).markdown
    if kind == "csv":
        return markdown_table(csv.reader(io.StringIO(text)))
    return text


def _pdf(data: bytes, deadline: Deadline) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    # An owner password alone (printing, copying) still lets anyone open the file: try the empty user password.
    if reader.is_encrypted and not reader.decrypt(""):
        raise UnreadableAttachment("encrypted PDF (a password is needed to open it)")
    pages = []
    for page in reader.pages:
        deadline.check()
        pages.append((page.extract_text() or "").strip())
    return "\n\n".join(p for p in pages if p)


def _xlsx(data: bytes, deadline: Deadline) -> str:
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        sections = []
        for sheet in workbook.worksheets:
            table = markdown_table(_rows(sheet.iter_rows(values_only=True), deadline))
            if table:
                sections.append(f"## {sheet.title}\n\n{table}")
        return "\n\n".join(sections)
    finally:
        workbook.close()


def _rows(rows: Iterable[tuple], deadline: Deadline) -> Iterable[list[str]]:
    for row in rows:
        deadline.check()
        yield ["" if value is None else str(value) for value in row]


def _pptx(data: bytes, deadline: Deadline) -> str:
    from pptx import Presentation

    sections = []
    for number, slide in enumerate(Presentation(io.BytesIO(data)).slides, start=1):
        deadline.check()
        title_shape = slide.shapes.title
        title = _one_line(title_shape.text_frame.text) if title_shape is not None else ""
        parts = [p for shape in slide.shapes if shape is not title_shape for p in _shape_text(shape)]
        if slide.has_notes_slide and (notes := slide.notes_slide.notes_text_frame.text.strip()):
            parts.append(f"Notes : {notes}")
        heading = f"## Slide {number}" + (f" : {title}" if title else "")
        sections.append("\n\n".join([heading, *parts]))
    return "\n\n".join(sections)


def _shape_text(shape) -> list[str]:
    from pptx.shapes.group import GroupShape

    if isinstance(shape, GroupShape):
        return [p for inner in shape.shapes for p in _shape_text(inner)]
    if getattr(shape, "has_table", False) and shape.has_table:
        return [markdown_table([cell.text for cell in row.cells] for row in shape.table.rows)]
    if shape.has_text_frame and (text := shape.text_frame.text.replace("\x0b", "\n").strip()):
        return [text]
    return []


def _one_line(text: str) -> str:
    return " ".join(text.split())


def markdown_table(rows: Iterable[list[str]]) -> str:
    """Rows (the first is the header) as a Markdown table; empty rows and trailing empty columns dropped."""
    cells = [[_one_line(c).replace("|", "\\|") for c in row] for row in rows]
    cells = [row for row in cells if any(row)]
    if not cells:
        return ""
    width = max(max((i + 1 for i, c in enumerate(row) if c), default=0) for row in cells)
    cells = [(row + [""] * width)[:width] for row in cells]
    lines = ["| " + " | ".join(cells[0]) + " |", "|" + " --- |" * width]
    lines += ["| " + " | ".join(row) + " |" for row in cells[1:]]
    return "\n".join(lines)
