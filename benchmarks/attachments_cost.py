"""Ingestion cost with and without attachments (issue 18 §6): the French demo wiki, each page
carrying a workbook, a slide deck, a PDF and a Word file (the real public files of the attachment
tests, plus a generated workbook of `--rows` rows). Reports wall and CPU time, Confluence requests
and chunks for a first (full) sync with CONFLUENCE_INCLUDE_ATTACHMENTS off and on.

    python -m benchmarks.attachments_cost [--rows 200] [--out result.json]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from benchmarks.harness import ingest, machine, publish, quiet_logging, say
from tests.fakes.confluence import FakeConfluence, demo_space
from tests.services.ingestion.test_attachments import FILES, PPTX, XLSX, make_xlsx

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def attach_files(fake: FakeConfluence, rows: int) -> int:
    """Four attachments on every page of the demo space; returns their total size in bytes."""
    sheet = [["Semaine", "Ingénieur", "Équipe", "Astreinte (h)"]]
    sheet += [[w, f"Ingénieur {w % 17}", f"Équipe {w % 5}", 8 + w % 4] for w in range(rows)]
    files = [
        ("planning.xlsx", XLSX, make_xlsx({"Planning": sheet, "Résumé": [["Total", rows]]})),
        ("test_slides.pptx", PPTX, (FILES / "test_slides.pptx").read_bytes()),
        ("crazyones.pdf", "application/pdf", (FILES / "crazyones.pdf").read_bytes()),
        ("example.docx", DOCX, (FILES / "example.docx").read_bytes()),
    ]
    for page in list(fake.pages.values()):
        for title, media_type, data in files:
            fake.add_attachment(page.id, title, media_type, data)
    return sum(len(a.data) for a in fake.attachments.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200, help="rows of the generated workbook on every page")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    quiet_logging()
    fake = FakeConfluence(cloud=True, page_cap=100)
    demo_space(fake, "DEMO")
    size = attach_files(fake, args.rows)
    fake.start()
    runs = {}
    try:
        for on in (False, True):
            with tempfile.TemporaryDirectory() as work:
                fake.requests.clear()
                done = ingest(fake, Path(work), "DEMO", confluence_include_attachments=on, permissions="off")
                runs["on" if on else "off"] = {
                    "seconds": round(done.seconds, 2),
                    "cpu_seconds": round(done.cpu_seconds, 2),
                    "requests": len(fake.requests),
                    "chunks": done.stats.chunks_written,
                    "items": done.stats.pages_done,
                }
                say(f"attachments {'on' if on else 'off'}: {runs['on' if on else 'off']}")
    finally:
        fake.stop()
    result = {"pages": len(fake.pages), "attachments": len(fake.attachments), "bytes": size, "runs": runs}
    result["machine"] = machine()
    off, on = runs["off"], runs["on"]
    text = (
        f"{result['pages']} pages, {result['attachments']} attachments ({size} bytes): full sync "
        f"{off['seconds']} s → {on['seconds']} s, CPU {off['cpu_seconds']} → {on['cpu_seconds']} s, "
        f"requests {off['requests']} → {on['requests']}, chunks {off['chunks']} → {on['chunks']}"
    )
    publish(result, text, args.out)


if __name__ == "__main__":
    main()
