"""Real Confluence bodies (tests/fixtures/confluence_bodies): conversion, chunks and section citations."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from confluence_rag.components.embedding import build_embedder
from confluence_rag.ingestion.chunking import PageChunker
from confluence_rag.ingestion.html_to_markdown import html_to_markdown
from confluence_rag.ingestion.models import Page
from confluence_rag.settings import Settings

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "confluence_bodies"
PAGES = json.loads((CORPUS / "pages.json").read_text(encoding="utf-8"))


def body(name: str) -> str:
    return (CORPUS / name).read_text(encoding="utf-8")


def markdown(name: str) -> str:
    return html_to_markdown(body(name)).markdown


def page(name: str) -> Page:
    return Page(
        page_id=name.removesuffix(".html"),
        space_key="S",
        title=PAGES[name]["title"],
        url=f"https://wiki.example/{name}",
        html=body(name),
    )


@pytest.fixture(scope="module")
def embedder():
    return build_embedder(Settings(_env_file=None, embedding_backend="torch"))


def test_corpus_files_are_all_described():
    files = sorted(p.name for p in CORPUS.glob("*.html"))
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    assert files == sorted(PAGES)
    assert all(f"`{name}`" in readme for name in files)
    assert {p["rendering"] for p in PAGES.values()} == {"cloud", "dc"}


@pytest.mark.parametrize("name", sorted(PAGES))
def test_what_a_reader_does_not_see_is_dropped(name):
    md = markdown(name)
    assert not re.search(r"\]\(#", md), "a table of contents link survived"
    for noise in ("Expand source", "(blue star)", "data:image", "base64", "utm_", "atlOrigin", "Deployment checklist"):
        assert noise not in md


def test_panels_keep_their_type_and_expand_keeps_its_body():
    tour, notes, guide = (
        markdown(n)
        for n in ("dc_ours_macros_tour.html", "cloud_ours_meeting_notes.html", "cloud_ours_guide_conges.html")
    )
    assert "> **Note: Change window**\n>\n> Production deployments only happen between 06:00 and 08:00 CET" in tour
    assert "> **Panel: Escalation**\n>\n> If the preflight fails twice" in tour
    assert "> **Tip**" in tour and "> **Warning**\n>\n> Never roll back" in tour
    assert "> **Info**\n>\n> The release train leaves every second Thursday" in notes
    assert "**Why a canary first?**\n\nThe canary takes five percent of the traffic" in tour
    assert "**Format des colonnes**\n\nLa durée vaut 1 pour une journée" in guide


def test_emoticons_tasks_status_and_mentions_read_as_on_the_page():
    tour, notes = markdown("dc_ours_macros_tour.html"), markdown("cloud_ours_meeting_notes.html")
    assert "## 📅 Date" in notes and "## ✅ Action items" in notes
    assert "- [x] @Camille Martin writes the half-up rounding rule" in notes
    assert "- [ ] @Hugo Bernard asks the payment provider when the sandbox comes back 👍" in notes
    assert "- [x] Announce the window" in tour and "- [ ] Freeze merges" in tour
    assert "# Before you start ⚠️" in tour
    assert "Rollback status: [TESTED]" in tour and "Owner: @Léa Roux." in tour
    assert "[rounding guide](https://example.com/vat-rounding-guide?lang=fr)" in notes
    assert "INV-482?src=confmacro) - Invoice totals differ by one cent from the ledger [In Progress]" in notes


def test_real_cloud_templates_read_as_on_the_page():
    plan, space = markdown("cloud_unstructured_project_plan.html"), markdown("cloud_unstructured_team_space.html")
    # Cloud writes some heading emoji as the escape of their UTF-16 pair ("\\uD83E\\uDD14").
    assert "## 🤔 Problem Statement" in plan and "## 🗓 Timeline" in plan and "\\u" not in plan
    assert "| **Status** | [NOT STARTED] / [IN PROGRESS] / [COMPLETE] |" in plan
    # Listings of other content (and their chrome) are not the page's content.
    assert "Blog stream" not in space and "Create blog post" not in space
    overview = html_to_markdown(body("cloud_airbyte_overview.html"))
    assert [heading for heading, _ in overview.anchors] == ["📄 Recent pages that I've worked on", "🖐 Get in touch"]
    assert "Recently Updated" not in overview.markdown and "Blog Posts" not in overview.markdown
    assert "contributed by" not in overview.markdown and "created by" not in overview.markdown
    assert space.startswith("## Welcome to your team space!\n\n> **Panel**\n>\n> - We've added some suggestions")


def test_diagrams_keep_their_text_and_images_their_name():
    tour = markdown("dc_ours_macros_tour.html")
    for label in (
        "Load balancer",
        "Billing API",
        "PostgreSQL primary",
        "RabbitMQ invoices queue",
        "PDF renderer worker",
    ):
        assert f"- {label}" in tour
    assert "[capacity-plan.png]" in tour and "/download/" not in tour
    assert "[ledger-diff.png]" in markdown("cloud_ours_meeting_notes.html")


@pytest.mark.parametrize("name", [n for n in sorted(PAGES) if n.startswith("dc_savu_")])
def test_headings_in_table_header_cells_become_headings(name):
    md = markdown(name)
    assert "\n### Brief description\n" in md and "\n### Additional notes\n" in md
    assert "| Brief description |\n| --- |" not in md and "| ### " not in md


def test_rowspan_and_colspan_fill_every_cell_they_cover():
    guide = markdown("cloud_ours_guide_conges.html")
    assert "| Contrat | Acquisition par mois / Congés payés | Acquisition par mois / RTT | Report possible |" in guide
    assert "| Non-cadre 35 heures | 2,08 jours | aucun | Jusqu'au 31 mai de l'année suivante<br>" in guide
    assert "| Alternant | 2,5 jours ouvrables, sans RTT | 2,5 jours ouvrables, sans RTT | Aucun report |" in guide
    savu = markdown("dc_savu_hdf5saver.html")
    assert "| Item | Parameter name | Parameter format | Example(s) / Parameter value | Example(s) / Effect |" in savu
    assert "| 2 | *pattern* |" in savu


def test_cells_keep_line_breaks_lists_and_code():
    tour = markdown("dc_ours_macros_tour.html")
    assert "| Billing API | 9090 (metrics) | Team Ledger<br>on call: +33 1 23 45 67 89 |" in tour
    assert "- scraped every 15 s<br>- alert after 3 misses" in tour
    assert "`curl -fsS :8080/healthz`<br>`echo ok`" in tour


def _chunks(embedder, name: str, chunk_size: int = 0):
    return PageChunker(embedder, chunk_size=chunk_size)([page(name).to_document()])


@pytest.mark.parametrize(
    "name", ["dc_savu_distortioncorrection.html", "dc_savu_vocentering.html", "cloud_ours_guide_conges.html"]
)
def test_split_tables_repeat_their_header_and_split_code_reopens_its_fence(embedder, name):
    chunks = _chunks(embedder, name, chunk_size=96)
    assert len(chunks) > 8
    for chunk in chunks:
        text = chunk.get_content()
        lines = text.split("\n")
        fences = [line for line in lines if line.startswith("```")]
        assert len(fences) % 2 == 0, f"unbalanced fence in {text!r}"
        for i, line in enumerate(lines):
            if line.startswith("|") and (i == 0 or not lines[i - 1].startswith("|")):
                separator = lines[i + 1] if i + 1 < len(lines) else ""
                assert set(separator.replace("|", " ").split()) == {"---"}, f"table without its header: {text!r}"
    tables = [c for c in chunks if "| --- |" in c.get_content()]
    headers = {c.get_content().split("| --- |")[0].strip().rsplit("\n", 1)[-1] for c in tables}
    assert len(tables) > len(headers), "no table was split, so no header was repeated"


def test_split_code_keeps_its_language(embedder):
    chunks = _chunks(embedder, "cloud_ours_guide_conges.html", chunk_size=96)
    code = [c.get_content() for c in chunks if "ecrivain" in c.get_content() or "absences_validees" in c.get_content()]
    assert len(code) >= 2
    assert all(c.startswith("```py\n") and c.count("```") == 2 for c in code)


def sections(name: str) -> list[tuple[str, str]]:
    """(heading, id) of every section with text of its own whose heading Confluence gave an id."""
    converted = html_to_markdown(body(name))
    pending = list(converted.anchors)
    out, current, in_code = [], None, False
    for line in converted.markdown.splitlines():
        in_code ^= line.startswith("```")
        heading = re.match(r"#{1,6} (.+)", line) if not in_code else None
        if heading:
            current = pending.pop(0) if pending and pending[0][0] == heading.group(1) else None
        elif line.strip() and current and current not in out:
            out.append(current)
    return out


def test_sections_cite_their_own_anchor_and_name_their_heading(embedder):
    total = cited = 0
    for name in sorted(PAGES):
        chunks = _chunks(embedder, name)
        for heading, anchor in sections(name):
            mine = [c for c in chunks if c.metadata["anchor_url"].endswith(f"#{anchor}")]
            total += 1
            cited += bool(mine) and all(c.metadata["heading"] == heading for c in mine)
        # Every chunk carries the heading path it sits under, ending with its own heading.
        for chunk in chunks:
            path = json.loads(chunk.metadata["heading_path"])
            assert not path or path[-1] == chunk.metadata["heading"]
    assert total >= 50
    assert cited / total >= 0.95, f"{cited}/{total} sections cite their own anchor"


def test_a_heading_that_opens_a_panel_is_cited_by_its_chunk(embedder):
    chunks = _chunks(embedder, "cloud_unstructured_team_space.html")
    welcome = next(c for c in chunks if "Get started with page templates" in c.get_content())
    assert welcome.metadata["heading"] == "Welcome to your team space!"
    assert welcome.metadata["anchor_url"].endswith("#Myfirstspace-Welcometoyourteamspace!")


def test_chunks_under_a_lifted_heading_carry_its_path(embedder):
    chunks = _chunks(embedder, "dc_savu_hdf5saver.html")
    notes = next(c for c in chunks if "*pattern*" in c.get_content())
    assert json.loads(notes.metadata["heading_path"]) == ["Parameters", "Additional notes"]
    assert notes.metadata["anchor_url"].endswith("#Hdf5saver-Additionalnotes")
    assert all("Hdf5saver-Summary" not in c.get_content() for c in chunks)
