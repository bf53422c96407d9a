"""Comments are read with their page (issue 18 §5): inline ones next to the passage they annotate,
page (footer) ones in a closing section, cited to the page and under its permissions, kept in step
although a comment never bumps the page's version. Cloud (REST v2) and Server/DC (v1 child/comment)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from bs4 import BeautifulSoup

from confluence_rag import index_schema as keys
from confluence_rag.container import Components
from confluence_rag.ingestion.comments import Comment, with_comments
from confluence_rag.worker.runs import ingest_space
from tests.conftest import confluence_settings
from tests.fakes.confluence import FakeConfluence, sample_space


@pytest.fixture(params=["cloud", "dc"])
def fake(request):
    fake = FakeConfluence(cloud=request.param == "cloud", page_cap=3)
    pages = sample_space(fake, "ENG")
    fake.add_user("camille", "Camille Dubois")
    fake.set_read_restriction(pages["deploy"].id, users=["camille"])
    inline = fake.add_comment(
        pages["deploy"].id, "<p>Sauf hotfix validé par la direction technique.</p>", inline_on="Never deploy on Fridays"
    )
    fake.add_comment(pages["deploy"].id, "<p>Le vendredi 13 compris.</p>", parent=inline.id, author="Hugo Lefèvre")
    resolved = fake.add_comment(pages["deploy"].id, "<p>Typo fixed, marmotte.</p>", inline_on="Zephyr pipeline")
    resolved.resolution = "resolved"
    fake.add_comment(pages["rollback"].id, "<p>Le runbook zorglub est obsolète depuis mars.</p>", author="Eve Martin")
    for i in range(3):  # more comments than the fake's page cap: every listing is paged
        fake.add_comment(pages["rollback"].id, f"<p>Remarque numéro {i} sur le retour arrière.</p>")
    for page in fake.pages.values():  # older than the sync overlap: only the listing can bring them back
        page.when = datetime.now(UTC) - timedelta(hours=1)
    for comment in fake.comments.values():
        comment.when = datetime.now(UTC) - timedelta(hours=1)
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def components(fake, make_settings, chroma_server):
    def make(**extra) -> Components:
        return Components(
            make_settings(
                **confluence_settings(fake),
                permissions="confluence",
                chroma_host="127.0.0.1",
                chroma_port=chroma_server.port,
                **extra,
            )
        )

    return make


def chunks(components: Components, page_id: str) -> list[tuple[str, dict]]:
    got = components.store().collection.get(where={"page_id": page_id}, include=["documents", "metadatas"])
    return list(zip(got["documents"], got["metadatas"], strict=True))


def comment_requests(fake: FakeConfluence) -> list[str]:
    return [r for r in fake.requests if "-comments" in r or "/child/comment" in r]


def page_id(fake: FakeConfluence, title: str) -> str:
    return next(p.id for p in fake.pages.values() if p.title == title)


def test_comments_are_indexed_with_their_page_and_kept_in_step(fake, components):
    app = components(confluence_include_comments=True)
    stats = ingest_space(app, "ENG")
    assert stats.pages_failed == 0
    deploy, rollback = page_id(fake, "Deployment guide"), page_id(fake, "Rollback procedure")
    deploy_chunks = chunks(app, deploy)
    # The inline comment and its reply sit right after the passage they annotate, cited to the page.
    text, meta = next((t, m) for t, m in deploy_chunks if "Sauf hotfix" in t)
    assert text.index("Never deploy on Fridays.") < text.index("« Never deploy on Fridays » :") < text.index("Sauf")
    assert "Le vendredi 13 compris." in text
    assert meta[keys.URL] == f"{fake.base_url}{fake.webui(fake.pages[deploy])}"
    assert meta[keys.ACCESS_KEY] == deploy_chunks[0][1][keys.ACCESS_KEY]  # the page's own permissions
    assert not any("marmotte" in t for t, _ in deploy_chunks)  # resolved: hidden from readers
    footer = next((t, m) for t, m in chunks(app, rollback) if "zorglub" in t)
    assert footer[1][keys.HEADING] == "Commentaires"
    rollback_text = "\n".join(t for t, _ in chunks(app, rollback))
    assert all(f"Remarque numéro {i} " in rollback_text for i in range(3))
    if fake.cloud:
        assert all("/api/v2/" in r for r in comment_requests(fake))
    else:
        assert all("/child/comment" in r and "depth=all" in r for r in comment_requests(fake))

    # Nothing changed: one comment listing, no comment read, nothing written.
    fake.requests.clear()
    again = ingest_space(app, "ENG")
    assert again.mode == "incremental" and again.chunks_written == 0 and not comment_requests(fake)

    # A new comment (the page's version does not move), an edit, a deletion: each reaches the index.
    version = fake.pages[rollback].version
    added = fake.add_comment(rollback, "<p>Nouvelle procédure : appeler le capybara de garde.</p>")
    assert fake.pages[rollback].version == version
    ingest_space(app, "ENG")
    assert any("capybara de garde" in t for t, _ in chunks(app, rollback))
    fake.edit_comment(added.id, "<p>Nouvelle procédure : appeler le wombat de garde.</p>")
    ingest_space(app, "ENG")
    texts = [t for t, _ in chunks(app, rollback)]
    assert any("wombat de garde" in t for t in texts) and not any("capybara" in t for t in texts)
    fake.delete_comment(added.id)
    fake.delete_comment(next(c.id for c in fake.comments.values() if "vendredi 13" in c.body))
    last = ingest_space(app, "ENG")
    assert last.pages_updated == 2
    assert not any("wombat" in t for t, _ in chunks(app, rollback))
    assert not any("vendredi 13" in t for t, _ in chunks(app, deploy))


def test_comments_are_off_by_default_and_then_cost_nothing(fake, components):
    app = components()
    assert app.settings.confluence_include_comments is False
    ingest_space(app, "ENG")
    assert not comment_requests(fake) and not any("type+%3D+comment" in r for r in fake.requests)
    assert not any("zorglub" in t for t, _ in chunks(app, page_id(fake, "Rollback procedure")))


def test_inline_notes_go_after_their_passage_whatever_holds_it():
    html = (
        '<p>Le <ac:inline-comment-marker ac:ref="r1">quorum</ac:inline-comment-marker> est de trois.</p>'
        '<table><tr><th>Rôle</th></tr><tr><td><span data-ref="r2">Astreinte</span></td></tr></table><p>Fin.</p>'
    )
    threads = [
        Comment("1", "<p>Quatre depuis mai.</p>", marker_ref="r1", selection="quorum"),
        Comment("2", "<p>Voir le planning.</p>", marker_ref="r2", selection="Astreinte"),
        Comment("3", "<p>Passage supprimé ?</p>", marker_ref="gone", selection="ancien texte"),
    ]
    soup = BeautifulSoup(with_comments(html, threads), "html.parser")
    # Storage markers too; after the whole table, not inside a cell; a lost passage goes to the end.
    quorum, table = soup.find("p"), soup.find("table")
    assert quorum.find_next_sibling().get_text(" ", strip=True) == "Commentaire sur « quorum » : Quatre depuis mai."
    assert table.find_next_sibling().get_text(" ", strip=True).startswith("Commentaire sur « Astreinte »")
    assert not table.find("blockquote")
    closing = soup.find("h2")
    assert closing.get_text() == "Commentaires" and closing.find_previous_sibling().get_text() == "Fin."
    assert closing.find_next_sibling().get_text(" ", strip=True).endswith("« ancien texte » : Passage supprimé ?")
