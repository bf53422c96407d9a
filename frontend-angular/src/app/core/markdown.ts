import { Marked } from 'marked';
import { Source } from './models';

/**
 * Markdown → HTML for answers. The result is bound with [innerHTML], so Angular's sanitizer
 * is the last line of defence; on top of that raw HTML in the Markdown is shown as text.
 * Citations such as `[1]` or `[1, 3]` become links to the cited source, opening in a new tab.
 */
export function renderMarkdown(markdown: string, sources: readonly Source[] = [], citationTitle = citationLabel): string {
  const byNumber = new Map(sources.map((s) => [s.n, s]));
  const marked = new Marked({
    gfm: true,
    breaks: false,
    renderer: {
      html: ({ text }) => escapeHtml(text),
      link({ href, title, tokens }) {
        const label = this.parser.parseInline(tokens);
        if (!isLinkableUrl(href)) return label;
        const t = title ? ` title="${escapeHtml(title)}"` : '';
        return `<a href="${escapeHtml(href)}"${t} target="_blank" rel="noopener noreferrer">${label}</a>`;
      },
      // Remote images are not loaded: they become links.
      image: ({ href, text }) =>
        isLinkableUrl(href)
          ? `<a href="${escapeHtml(href)}" target="_blank" rel="noopener noreferrer">${escapeHtml(text || href)}</a>`
          : escapeHtml(text),
    },
    extensions: [
      {
        name: 'citation',
        level: 'inline',
        start: (src: string) => src.match(/\[\d/)?.index,
        tokenizer(src: string) {
          const match = CITATION.exec(src);
          if (!match) return undefined;
          const numbers = match[1].split(/\s*[,;]\s*/).map(Number);
          return { type: 'citation', raw: match[0], numbers };
        },
        renderer(token) {
          return (token['numbers'] as number[])
            .map((n) => {
              const source = byNumber.get(n);
              if (!source || !isLinkableUrl(source.url)) return `[${n}]`;
              return (
                `<a class="citation" href="${escapeHtml(source.url)}" target="_blank" rel="noopener noreferrer"` +
                ` title="${escapeHtml(citationTitle(source))}">[${n}]</a>`
              );
            })
            .join('');
        },
      },
    ],
  });
  return marked.parse(markdown, { async: false });
}

/** `[1]`, `[1, 2]`, `[1;2]`, not a Markdown link `[1](…)`. */
const CITATION = /^\[(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\](?!\()/;

function citationLabel(source: Source): string {
  return `${source.n}. ${source.title}`;
}

/**
 * A source snippet is the start of a Markdown chunk: show it as plain text without the
 * Markdown punctuation (emphasis, headings, quotes, table rules and pipes).
 */
export function plainSnippet(markdown: string): string {
  return markdown
    .split('\n')
    .filter((line) => !/^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$/.test(line))
    .map((line) =>
      line
        .replace(/^\s{0,3}(#{1,6}|>)\s?/, '')
        .replace(/^\s*\|\s*|\s*\|\s*$/g, '')
        .replace(/\s*\|\s*/g, ' · '),
    )
    .join('\n')
    .replace(/(\*\*|__|`)/g, '')
    .replace(/\[([^\]]+)\]\([^)]*\)/g, '$1')
    .trim();
}

/** http(s) URLs and same-site paths (the demo content cites `/demo/pages/...`); nothing else. */
export function isLinkableUrl(url: string | null | undefined): boolean {
  return !!url && (/^https?:\/\//i.test(url) || /^\/(?!\/)/.test(url));
}

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}
