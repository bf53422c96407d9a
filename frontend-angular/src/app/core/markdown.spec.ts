import { source } from '../../testing/fixtures';
import { plainSnippet, renderMarkdown } from './markdown';

function dom(html: string): HTMLElement {
  const div = document.createElement('div');
  div.innerHTML = html;
  return div;
}

describe('renderMarkdown', () => {
  const sources = [source(1), source(2, { url: 'https://wiki.example.com/pages/102#Section' })];

  it('renders Markdown', () => {
    const el = dom(renderMarkdown('**Important** :\n\n- un\n- deux'));
    expect(el.querySelector('strong')?.textContent).toBe('Important');
    expect(el.querySelectorAll('li')).toHaveLength(2);
  });

  it('turns [1] into a link to the source URL that opens in a new tab', () => {
    const el = dom(renderMarkdown('Posez-le dans le portail [1].', sources));
    const link = el.querySelector<HTMLAnchorElement>('a.citation')!;
    expect(link.getAttribute('href')).toBe(sources[0].url);
    expect(link.getAttribute('target')).toBe('_blank');
    expect(link.getAttribute('rel')).toContain('noopener');
    expect(link.textContent).toBe('[1]');
    expect(link.getAttribute('title')).toContain('Page 1');
  });

  it('links each number of a grouped citation [1, 2] and keeps anchors in URLs', () => {
    const el = dom(renderMarkdown('Voir [1, 2] et [2][1].', sources));
    const hrefs = [...el.querySelectorAll('a.citation')].map((a) => a.getAttribute('href'));
    expect(hrefs).toEqual([sources[0].url, sources[1].url, sources[1].url, sources[0].url]);
  });

  it('leaves a citation without a matching source as plain text', () => {
    const el = dom(renderMarkdown('Selon [7].', sources));
    expect(el.querySelector('a')).toBeNull();
    expect(el.textContent).toContain('[7]');
  });

  it('does not link citations inside code', () => {
    const el = dom(renderMarkdown('`tableau[1]`\n\n```\nx[1]\n```', sources));
    expect(el.querySelector('a')).toBeNull();
  });

  it('keeps ordinary Markdown links, opening in a new tab', () => {
    const el = dom(renderMarkdown('[la doc](https://example.com/doc)', sources));
    const link = el.querySelector('a')!;
    expect(link.getAttribute('href')).toBe('https://example.com/doc');
    expect(link.getAttribute('target')).toBe('_blank');
    expect(link.classList.contains('citation')).toBe(false);
  });

  it('shows raw HTML as text and drops javascript: links', () => {
    const el = dom(renderMarkdown('<script>alert(1)</script> <img src=x onerror="alert(2)"> [x](javascript:alert(3))'));
    expect(el.querySelector('script, img')).toBeNull();
    expect(el.querySelector('a')).toBeNull();
    expect(el.textContent).toContain('<script>alert(1)</script>');
  });

  it('links same-site source paths (demo content) but not protocol-relative URLs', () => {
    const local = [source(1, { url: '/demo/pages/demo-conges#Poser' }), source(2, { url: '//evil.example/x' })];
    const el = dom(renderMarkdown('A [1] B [2]', local));
    const links = el.querySelectorAll('a.citation');
    expect(links).toHaveLength(1);
    expect(links[0].getAttribute('href')).toBe('/demo/pages/demo-conges#Poser');
  });

  it('does not load remote images', () => {
    const el = dom(renderMarkdown('![schéma](https://example.com/a.png)'));
    expect(el.querySelector('img')).toBeNull();
    expect(el.querySelector('a')?.getAttribute('href')).toBe('https://example.com/a.png');
  });

  it('renders a partial stream without breaking (unfinished citation and list)', () => {
    const el = dom(renderMarkdown('Étapes :\n\n1. Ouvrir le portail [', sources));
    expect(el.querySelector('ol li')?.textContent).toContain('Ouvrir le portail [');
  });
});

describe('plainSnippet', () => {
  it('drops Markdown punctuation from a snippet', () => {
    expect(plainSnippet("## Frais\nLes notes se déclarent dans **Expensya**.\n| Dépense | Plafond |\n| --- | --- |\n| Repas | 20 € |")).toBe(
      'Frais\nLes notes se déclarent dans Expensya.\nDépense · Plafond\nRepas · 20 €',
    );
    expect(plainSnippet('> cité avec `code` et [un lien](https://x.y)')).toBe('cité avec code et un lien');
  });
});
