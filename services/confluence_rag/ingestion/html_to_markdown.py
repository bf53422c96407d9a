"""Confluence page HTML (export_view or storage) → Markdown.

Why not the reader's own conversion: ConfluenceReader 0.8.0 calls markdownify with
`strip=["script", "style"]`, which keeps the *text* of scripts and styles in the output. We drop
those elements before converting, keep headings, lists, tables and code, and collect each
heading's `id` so citations can link to the exact section (`url#anchor`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bs4 import BeautifulSoup
from markdownify import MarkdownConverter

DROPPED_TAGS = ("script", "style", "noscript", "template", "iframe", "object", "embed")


@dataclass
class ConvertedPage:
    markdown: str
    anchors: dict[str, str] = field(default_factory=dict)  # heading text → element id


class _Converter(MarkdownConverter):
    def convert_pre(self, el, text, parent_tags):
        # Confluence puts the language on the <pre> (data-syntaxhighlighter-params="brush: java").
        params = el.get("data-syntaxhighlighter-params", "")
        match = re.search(r"brush:\s*([\w+-]+)", params)
        language = match.group(1) if match else (el.get("data-language") or "")
        code = el.get_text()
        return f"\n\n```{language}\n{code.strip(chr(10))}\n```\n\n"


def html_to_markdown(html: str) -> ConvertedPage:
    soup = BeautifulSoup(html or "", "html.parser")
    for tag in soup.find_all(DROPPED_TAGS):
        tag.decompose()
    anchors: dict[str, str] = {}
    for heading in soup.find_all(re.compile(r"^h[1-6]$")):
        anchor = heading.get("id")
        text = " ".join(heading.get_text(" ", strip=True).split())
        if anchor and text:
            anchors.setdefault(text, anchor)
    markdown = _Converter(heading_style="ATX", bullets="-", escape_underscores=False).convert_soup(soup)
    markdown = re.sub(r"\n{3,}", "\n\n", markdown).strip() + "\n"
    return ConvertedPage(markdown=markdown, anchors=anchors)
