"""Confluence page HTML (export_view or storage) → Markdown.

Why not the reader's own conversion: ConfluenceReader 0.8.0 calls markdownify with
`strip=["script", "style"]`, which keeps the *text* of scripts and styles in the output. We drop
those elements, rewrite Confluence's macros into what a reader sees (`confluence_macros`), then
convert. Headings come out as plain text, and each heading's `id` is recorded under exactly that
text, so that a chunk's heading finds its anchor (`url#anchor`). Tables are laid out on a grid
(rowspan/colspan repeated into every cell they cover) and cells keep their line breaks, lists and
code as `<br>`-separated lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bs4 import BeautifulSoup, Tag
from markdownify import MarkdownConverter

from confluence_rag.ingestion.confluence_macros import HEADING, normalize

DROPPED_TAGS = ("script", "style", "noscript", "template", "iframe", "object", "embed")
MAX_SPAN = 50  # a rowspan/colspan beyond this is a broken attribute, not a layout


@dataclass
class ConvertedPage:
    markdown: str
    # (heading text as the Markdown carries it, element id) of every heading with an id, in page order
    anchors: list[tuple[str, str]] = field(default_factory=list)


def heading_text(el: Tag) -> str:
    """A heading's text as the Markdown carries it: plain, on one line."""
    return " ".join(el.get_text(" ", strip=True).split())


class _Converter(MarkdownConverter):
    def convert_pre(self, el, text, parent_tags):
        # Confluence puts the language on the <pre> (data-syntaxhighlighter-params="brush: java").
        params = el.get("data-syntaxhighlighter-params", "")
        match = re.search(r"brush:\s*([\w+-]+)", params)
        language = match.group(1) if match else (el.get("data-language") or "")
        code = el.get_text()
        return f"\n\n```{language}\n{code.strip(chr(10))}\n```\n\n"

    def convert_hN(self, n, el, text, parent_tags):  # noqa: N802 (markdownify's name)
        return super().convert_hN(n, el, heading_text(el), parent_tags)

    def convert_table(self, el, text, parent_tags):
        grid = _grid(el)
        if not grid or not el.get_text(strip=True):
            return ""
        if max(len(row) for row in grid) == 1:  # a one-column box (layout, not data): its content as is
            boxes = dict.fromkeys(row[0] for row in grid if row and row[0] is not None)
            return "\n\n" + "\n\n".join(self._block(cell) for cell in boxes) + "\n\n"
        cells: dict[int, str] = {}
        rows = [[cells.setdefault(id(c), self._cell(c)) if c is not None else "" for c in row] for row in grid]
        caption = ""
        if len(rows) > 1 and len({id(c) for c in grid[0]}) == 1:  # one cell across the table: a title
            caption, rows, grid = rows[0][0].replace("<br>", " "), rows[1:], grid[1:]
        width = max(len(row) for row in rows)
        rows = [row + [""] * (width - len(row)) for row in rows]
        head = _header_rows(grid)
        header = [" / ".join(dict.fromkeys(r[i] for r in rows[:head] if r[i])) for i in range(width)]
        lines = [header, ["---"] * width, *rows[head:]]
        table = "\n".join("| " + " | ".join(line) + " |" for line in lines)
        return f"\n\n{caption}\n\n{table}\n\n" if caption else f"\n\n{table}\n\n"

    def _block(self, cell: Tag) -> str:
        return "".join(self.process_element(child, set()) for child in cell.children).strip()

    def _cell(self, cell: Tag) -> str:
        """A cell's Markdown on one line: its line breaks and list items as `<br>`, each line of a
        code block as inline code (a Markdown table cell cannot hold a fenced block)."""
        lines: list[str] = []
        in_code = False
        for line in self._block(cell).splitlines():
            if line.startswith("```"):
                in_code = not in_code
            elif line.strip():
                lines.append(f"`{line.rstrip()}`" if in_code else line.rstrip())
        return "<br>".join(lines).replace("|", "\\|")


def _span(cell: Tag, name: str) -> int:
    try:
        return min(max(int(cell.get(name, 1)), 1), MAX_SPAN)
    except (TypeError, ValueError):
        return 1


def _grid(table: Tag) -> list[list[Tag | None]]:
    """The table's cells on a grid: a cell spanning rows or columns fills every position it covers."""
    grid: list[list[Tag | None]] = []
    pending: dict[int, tuple[Tag, int]] = {}  # column → (cell spanning down into it, rows left)
    rows = [tr for tr in table.find_all("tr") if tr.find_parent("table") is table]
    for tr in rows:
        cells = iter(tr.find_all(["td", "th"], recursive=False))
        row: list[Tag | None] = []
        while True:
            col = len(row)
            if col in pending:
                cell, left = pending.pop(col)
                if left > 1:
                    pending[col] = (cell, left - 1)
                row.append(cell)
                continue
            cell = next(cells, None)
            if cell is None:
                if any(c > col for c in pending):
                    row.append(None)
                    continue
                break
            rowspan = _span(cell, "rowspan")
            for _ in range(_span(cell, "colspan")):
                if rowspan > 1:
                    pending[len(row)] = (cell, rowspan - 1)
                row.append(cell)
        grid.append(row)
    return grid


def _header_rows(grid: list[list[Tag | None]]) -> int:
    """How many leading rows are header cells only (at least one: Markdown needs a header row)."""
    count = 0
    for row in grid:
        if not row or any(c is None or c.name != "th" for c in row):
            break
        count += 1
    return max(count, 1) if len(grid) > count else max(count - 1, 1)


def html_to_markdown(html: str) -> ConvertedPage:
    soup = BeautifulSoup(html or "", "html.parser")
    for tag in soup.find_all(DROPPED_TAGS):
        tag.decompose()
    normalize(soup)
    anchors = [(heading_text(h), h["id"]) for h in soup.find_all(HEADING) if h.get("id") and heading_text(h)]
    markdown = _Converter(heading_style="ATX", bullets="-", escape_underscores=False).convert_soup(soup)
    markdown = re.sub(r"[ \t]+\n", "\n", markdown)
    markdown = re.sub(r"\n{3,}", "\n\n", markdown).strip() + "\n"
    return ConvertedPage(markdown=markdown, anchors=anchors)
