"""Text of common attachment formats, for indexing attachments as their own documents.

Why not the reader's attachment handlers: they OCR PDFs (tesseract and poppler binaries, absent
here) instead of reading the text layer, read only the first 50 attachments of a page, glue the
text to the page without a separator and put error strings into it. We read the PDF text layer
with pypdf and DOCX with docx2txt; text, Markdown, HTML and CSV directly. Other types are skipped.
"""

from __future__ import annotations

import csv
import io
import logging

from confluence_rag.ingestion.html_to_markdown import html_to_markdown

log = logging.getLogger(__name__)

SUPPORTED = {
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "text/plain": "text",
    "text/markdown": "text",
    "text/x-markdown": "text",
    "text/html": "html",
    "text/csv": "csv",
}
BY_EXTENSION = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".txt": "text",
    ".md": "text",
    ".markdown": "text",
    ".html": "html",
    ".htm": "html",
    ".csv": "csv",
}


def attachment_kind(media_type: str, filename: str) -> str | None:
    kind = SUPPORTED.get((media_type or "").split(";")[0].strip().lower())
    if kind:
        return kind
    dot = filename.rfind(".")
    return BY_EXTENSION.get(filename[dot:].lower()) if dot >= 0 else None


def extract_text(kind: str, data: bytes) -> str:
    """Markdown-ish text of an attachment (raises on a corrupt file)."""
    if kind == "pdf":
        from pypdf import PdfReader

        pages = [page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages]
        return "\n\n".join(p.strip() for p in pages if p.strip())
    if kind == "docx":
        import docx2txt

        return docx2txt.process(io.BytesIO(data)).strip()
    text = data.decode("utf-8", errors="replace")
    if kind == "html":
        return html_to_markdown(text).markdown
    if kind == "csv":
        rows = list(csv.reader(io.StringIO(text)))
        if not rows:
            return ""
        width = max(len(r) for r in rows)
        rows = [r + [""] * (width - len(r)) for r in rows]
        lines = ["| " + " | ".join(rows[0]) + " |", "|" + " --- |" * width]
        lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
        return "\n".join(lines)
    return text
