"""Confluence's rendered macros (export_view, Cloud and Server/DC) → the plain HTML a reader sees.

Runs on the parsed body before the Markdown conversion. What the reader does not read is dropped
(tables of contents, children, recently-updated and blog-posts listings, the code panel's "Expand
source" label, icons, `data:` images); what the reader sees is kept in a form Markdown
can carry: panels as a quote with their type, expand bodies under their title, emoticons (and the
escaped emoji of Cloud's headings) as their emoji, task state as `[x]`/`[ ]`, status lozenges (a
Jira issue's too) as `[STATUS]`, mentions as `@Name`, images as their name, diagrams' text as text.
Markup references: Atlassian's storage format and the export_view of real pages
(tests/fixtures/confluence_bodies/README.md).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bs4 import BeautifulSoup, Tag

# Navigation a reader does not read as content: tables of contents and children listings.
NAVIGATION = (
    ".toc-macro",
    ".client-side-toc-macro",
    "[data-macro-name=toc]",
    "[data-macro-name=children]",
    ".childpages-macro",
    ".plugin_pagetree",
    # Listings of other content as it stood at render time (each listed page is indexed itself), with
    # their chrome: Cloud's "Recently Updated" heading, the "Blog stream" placeholder and its button.
    "[data-macro-name=recently-updated]",
    "[data-macro-name=blog-posts]",
    # Code panel / expand chrome: "Expand source", spinners, arrow icons.
    ".collapse-source",
    ".collapse-spinner-wrapper",
    ".expand-control-icon",
    ".expand-control-image",
    ".aui-icon",
)
PANEL_TYPES = {"information": "Info", "info": "Info", "note": "Note", "warning": "Warning", "tip": "Tip"}
# Server/DC emoticons that carry no emoji attribute, by their class `emoticon-<name>`.
EMOTICONS = {
    "smile": "🙂",
    "sad": "🙁",
    "cheeky": "😛",
    "laugh": "😃",
    "wink": "😉",
    "thumbs-up": "👍",
    "thumbs-down": "👎",
    "information": "ℹ️",
    "tick": "✅",
    "cross": "❌",
    "warning": "⚠️",
    "plus": "➕",
    "minus": "➖",
    "question": "❓",
    "light-on": "💡",
    "light-off": "💡",
    "yellow-star": "⭐",
    "red-star": "⭐",
    "green-star": "⭐",
    "blue-star": "⭐",
    "heart": "❤️",
    "broken-heart": "💔",
}
# Cloud writes some emoji of its templates' headings as the Java escape of their UTF-16 pair:
# the heading text "\uD83D\uDDD3 Timeline" reads 🗓 Timeline.
ESCAPED_PAIR = re.compile(r"\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})", re.I)
TRACKING_PARAMS = re.compile(r"^(utm_\w+|atlOrigin|gclid|fbclid|mc_cid|mc_eid|_hsenc|_hsmi)$", re.I)
HEADING = re.compile(r"^h[1-6]$")


def normalize(soup: BeautifulSoup) -> None:
    for el in soup.select(", ".join(NAVIGATION)):
        if not el.decomposed:
            el.decompose()
    for el in soup.select(".confluence-information-macro, [data-macro-name=panel], div.panel:not(.code)"):
        _panel(soup, el)
    for el in soup.select(".expand-control"):
        el.replace_with(_bold_paragraph(soup, el.get_text(" ", strip=True)))
    for el in soup.select(".codeHeader"):
        el.replace_with(_bold_paragraph(soup, el.get_text(" ", strip=True)))
    for el in soup.select("img.emoticon"):
        el.replace_with(emoji(el))
    for heading in soup.find_all(HEADING):
        for text in heading.find_all(string=ESCAPED_PAIR):
            text.replace_with(ESCAPED_PAIR.sub(_unescape_pair, text))
    for el in soup.select("ul.inline-task-list > li, ol.inline-task-list > li"):
        el.insert(0, "[x] " if "checked" in el.get("class", []) else "[ ] ")
    for el in soup.select(".status-macro, .jira-issue .aui-lozenge"):
        el.replace_with(f"[{el.get_text(' ', strip=True)}]")
    for el in soup.select("a.confluence-userlink, a.user-mention, [data-username], [data-account-id]"):
        if el.name in ("a", "span"):
            name = el.get_text(" ", strip=True).lstrip("@")
            el.replace_with(f"@{name}" if name else "")  # a profile picture link has no name: dropped
    for el in soup.find_all(["svg", "map"]):
        _diagram_text(soup, el)
    for el in soup.find_all("img"):
        el.replace_with(image_label(el))
    for el in soup.find_all("a", href=True):
        el["href"] = clean_url(el["href"])
        if not el["href"]:
            del el["href"]
    _lift_headings_out_of_tables(soup)


def emoji(img: Tag) -> str:
    """The emoji Confluence shows: its fallback character, its code points, or a known DC name."""
    fallback = img.get("data-emoji-fallback", "")
    if fallback and not fallback.startswith(":"):
        return fallback
    code = img.get("data-emoji-id", "")
    if re.fullmatch(r"[0-9a-f]{2,6}(-[0-9a-f]{2,6})*", code):
        return "".join(chr(int(part, 16)) for part in code.split("-"))
    names = [c.removeprefix("emoticon-") for c in img.get("class", []) if c.startswith("emoticon-")]
    return next((EMOTICONS[n] for n in names if n in EMOTICONS), "")


def _unescape_pair(match: re.Match[str]) -> str:
    high, low = int(match[1], 16), int(match[2], 16)
    return chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))


def image_label(img: Tag) -> str:
    """An image as the name a reader would see in its place; never its URL (`data:` URIs are base64)."""
    if "icon" in img.get("class", []) or img.get("role") == "presentation":
        return ""
    name = img.get("data-linked-resource-default-alias") or img.get("alt") or ""
    return f"[{name}]" if name and not name.startswith("data:") else ""


def clean_url(url: str) -> str:
    """Drop `data:`/`javascript:` URLs and tracking parameters from a link."""
    if url.strip().lower().startswith(("data:", "javascript:")):
        return ""
    parts = urlsplit(url)
    if not parts.query:
        return url
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not TRACKING_PARAMS.match(k)]
    return urlunsplit(parts._replace(query=urlencode(kept)))


def _bold_paragraph(soup: BeautifulSoup, text: str) -> Tag | str:
    if not text:
        return ""
    p = soup.new_tag("p")
    strong = soup.new_tag("strong")
    strong.string = text
    p.append(strong)
    return p


def _panel(soup: BeautifulSoup, el: Tag) -> None:
    """An info/note/warning/tip panel → a quote that opens with its type (and title).

    A heading that opens the panel (Cloud's team space overview) goes before the quote, so that
    it stays a section heading with its anchor.
    """
    kinds = [c.removeprefix("confluence-information-macro-") for c in el.get("class", [])]
    kind = next((PANEL_TYPES[k] for k in [el.get("data-macro-name", ""), *kinds] if k in PANEL_TYPES), "Panel")
    title_el = el.select_one(".title, .panelHeader")
    title = title_el.get_text(" ", strip=True) if title_el else ""
    if title_el:
        title_el.decompose()
    quote = soup.new_tag("blockquote")
    quote.append(_bold_paragraph(soup, f"{kind}: {title}" if title else kind))
    body = el.select_one(".confluence-information-macro-body, .panelContent") or el
    first = next((child for child in body.children if isinstance(child, Tag) or child.strip()), None)
    opening = first if isinstance(first, Tag) and HEADING.match(first.name) else None
    for child in list(body.children):
        quote.append(child.extract())
    el.replace_with(quote)
    if opening is not None:
        quote.insert_before(opening.extract())


def _diagram_text(soup: BeautifulSoup, el: Tag) -> None:
    """An inline diagram (draw.io SVG, Gliffy image map) → the labels it carries, one per line."""
    if el.name == "svg":
        # html.parser lowercases tag names: foreignObject is found as foreignobject.
        labels = [t.get_text(" ", strip=True) for t in el.find_all(["text", "foreignobject"])]
    else:
        labels = [a.get("alt") or a.get("title") or "" for a in el.find_all("area")]
    labels = list(dict.fromkeys(label for label in labels if label))
    if not labels:
        el.decompose()
        return
    lst = soup.new_tag("ul")
    for label in labels:
        item = soup.new_tag("li")
        item.string = label
        lst.append(item)
    el.replace_with(lst)


def _lift_headings_out_of_tables(soup: BeautifulSoup) -> None:
    """Headings that Confluence users put in table cells become real headings before the table.

    A table left with no text at all (the one-cell "heading box") disappears.
    """
    for heading in soup.find_all(HEADING):
        table = heading.find_parent("table")
        if table is None:
            continue
        outer = table.find_parent(class_="table-wrap") or table
        outer.insert_before(heading.extract())
        if not table.get_text(strip=True):
            outer.decompose()
