"""Comments as part of the page people read: inline ones next to the passage they annotate, page
(footer) ones in a closing section; both then go through the page's own conversion and chunking,
so they carry the page's citation and permissions.

Resolved inline comments are left out (Confluence hides them from readers); an open inline comment
whose passage is gone from the body (`dangling`) joins the closing section with the passage quoted.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from bs4 import BeautifulSoup, Tag

SECTION_TITLE = "Commentaires"
BLOCKS = ("p", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote")
WHOLE = ("table", "ul", "ol")  # a note goes after the whole table or list, never inside a cell or an item


@dataclass
class Comment:
    id: str
    body_html: str
    author: str = ""
    marker_ref: str = ""  # inline comments: the ref of the marker wrapping the passage in the page body
    selection: str = ""  # inline comments: the passage as it was selected
    replies: list[Comment] = field(default_factory=list)


def comments_signature(versions: dict[str, int]) -> str:
    """What a body-less listing of comments (id → version) says about a page's comments."""
    payload = json.dumps(sorted(versions.items()))
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def with_comments(html: str, comments: list[Comment]) -> str:
    """The page body with its comment threads in place (see the module docstring)."""
    if not comments:
        return html
    soup = BeautifulSoup(html or "", "html.parser")
    closing: list[Comment] = []
    for comment in comments:
        marker = _marker(soup, comment.marker_ref) if comment.marker_ref else None
        if marker is None:
            closing.append(comment)
        else:
            _place_after(marker).insert_after(_thread(soup, comment, inline=True))
    if closing:
        heading = soup.new_tag("h2")
        heading.string = SECTION_TITLE
        soup.append(heading)
        for comment in closing:
            soup.append(_thread(soup, comment, inline=bool(comment.marker_ref)))
    return str(soup)


def _marker(soup: BeautifulSoup, ref: str) -> Tag | None:
    # Rendered bodies (view, export_view) carry `data-ref`; the storage format `ac:inline-comment-marker`.
    return soup.find(attrs={"data-ref": ref}) or soup.find("ac:inline-comment-marker", attrs={"ac:ref": ref})


def _place_after(marker: Tag) -> Tag:
    outermost = None
    for parent in marker.parents:
        if parent.name in WHOLE:
            outermost = parent
    return outermost or marker.find_parent(BLOCKS) or marker


def _thread(soup: BeautifulSoup, comment: Comment, inline: bool, reply: bool = False) -> Tag:
    quote = soup.new_tag("blockquote")
    who = f" de {comment.author}" if comment.author else ""
    label = "Réponse" if reply else "Commentaire"
    about = f" sur « {comment.selection} »" if inline and comment.selection and not reply else ""
    intro = soup.new_tag("p")
    intro.string = f"{label}{who}{about} :"
    quote.append(intro)
    quote.append(BeautifulSoup(comment.body_html or "", "html.parser"))
    for answer in comment.replies:
        quote.append(_thread(soup, answer, inline, reply=True))
    return quote
