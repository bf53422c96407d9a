import { ComponentFixture, TestBed } from '@angular/core/testing';
import { FakeHistoryServer } from '../../testing/fake-history';
import { flush } from '../../testing/fixtures';
import { ADMIN_TOKEN_STORAGE_KEY } from '../core/admin-token.store';
import { ApiService } from '../core/api.service';
import { AuthService } from '../core/auth.service';
import { Analytics } from '../core/models';
import { UsagePanel } from './usage-panel';

function report(overrides: Partial<Analytics> = {}): Analytics {
  return {
    start: '2026-11-05T00:00:00Z',
    end: '2026-12-05T00:00:00Z',
    questions: 42,
    thumbs_up: 5,
    thumbs_down: 2,
    unanswered: [
      {
        message_id: 'm3',
        created_at: '2026-12-01T10:00:00Z',
        question: null,
        answer_found: false,
        sources: 0,
        rating: null,
        comment: null,
        wrong_chunk_ids: [],
      },
    ],
    thumbed_down: [
      {
        message_id: 'm1',
        created_at: '2026-12-01T09:00:00Z',
        question: 'Comment poser un congé ?',
        answer_found: true,
        sources: 2,
        rating: 'down',
        comment: 'Procédure périmée',
        wrong_chunk_ids: ['101#0'],
      },
    ],
    most_cited: [{ page_id: '101', title: 'Congés', space_key: 'RH', url: 'https://wiki.example.com/101', citations: 7 }],
    never_cited: [{ page_id: '102', title: 'Archives', space_key: 'RH', url: 'javascript:alert(1)' }],
    never_cited_total: 31,
    spaces: [{ space_key: 'RH', questions: 40, thumbs_down: 2 }],
    latency_ms: {
      total: { p50: 1234.4, p90: 2500, p99: null },
      first_token: { p50: 400, p90: 800, p99: 900 },
      retrieve: { p50: 35, p90: 60, p99: 80 },
    },
    ...overrides,
  };
}

describe('UsagePanel', () => {
  let server: FakeHistoryServer;
  let fixture: ComponentFixture<UsagePanel>;
  let el: HTMLElement;

  const q = (testId: string) => el.querySelector<HTMLElement>(`[data-testid="${testId}"]`);
  /** Each body row as its cells' text, joined by single spaces. */
  const rows = (testId: string) =>
    [...el.querySelectorAll(`[data-testid="${testId}"] tbody tr`)].map((row) =>
      [...row.children].map((cell) => cell.textContent?.replace(/\s+/g, ' ').trim()).join(' '),
    );

  async function create() {
    fixture = TestBed.createComponent(UsagePanel);
    el = fixture.nativeElement;
    await fixture.whenStable();
    await flush();
    await fixture.whenStable();
  }

  beforeEach(() => {
    sessionStorage.clear();
    server = new FakeHistoryServer();
    server.analytics = report();
    server.install(TestBed.inject(ApiService));
  });

  it('asks for the admin token when nobody signed in, and calls nothing before', async () => {
    await create();
    expect(el.textContent).toContain('Saisissez le jeton d’administration ci-dessus');
    expect((q('usage-show') as HTMLButtonElement).disabled).toBe(true);
    expect(server.calls).toEqual([]);
  });

  it('shows the last 30 days for a signed-in operator: thumbed-down and unanswered questions, pages, spaces, latency', async () => {
    TestBed.inject(AuthService).me.set({ authenticated: true, user: 'op', display_name: 'Op', groups: ['ops'], is_admin: true });
    await create();

    const [call] = server.calls;
    const params = new URL(call.split(' ')[1], 'http://x').searchParams;
    const days = (Date.parse(params.get('end')!) - Date.parse(params.get('start')!)) / 86_400_000;
    expect(Math.round(days)).toBe(30);
    expect(server.authorizations[0]).toBeNull(); // the operator's own token is added by AuthService

    expect(q('usage-counts')?.textContent).toContain('42');
    expect(rows('usage-thumbed-down')[0]).toContain('Comment poser un congé ?');
    expect(rows('usage-thumbed-down')[0]).toContain('Procédure périmée');
    expect(rows('usage-unanswered')[0]).toContain('(texte non conservé)');
    expect(rows('usage-most-cited')[0]).toBe('Congés RH 7');
    expect(el.querySelector('[data-testid="usage-most-cited"] a')?.getAttribute('href')).toBe('https://wiki.example.com/101');
    expect(el.textContent).toContain('Pages jamais citées (31)');
    expect(el.querySelector('[data-testid="usage-never-cited"] a')).toBeNull();
    expect(rows('usage-spaces')).toEqual(['RH 40 2']);
    expect(rows('usage-latency')[0]).toMatch(/^Réponse complète 1\s234 ms 2\s500 ms –$/);
    expect(el.querySelector('[role="status"]')?.textContent).toBe('Rapport chargé : 42 questions sur la période.');
  });

  it('sends the typed admin token and the chosen period, both days included', async () => {
    sessionStorage.setItem(ADMIN_TOKEN_STORAGE_KEY, 'tok');
    await create();
    for (const [id, value] of [['usage-from', '2026-11-01'], ['usage-to', '2026-11-30']]) {
      const input = q(id) as HTMLInputElement;
      input.value = value;
      input.dispatchEvent(new Event('input'));
    }
    (q('usage-show') as HTMLButtonElement).click();
    await flush();
    const params = new URL(server.calls.at(-1)!.split(' ')[1], 'http://x').searchParams;
    expect(new Date(params.get('start')!).getTime()).toBe(new Date('2026-11-01T00:00:00').getTime());
    expect(new Date(params.get('end')!).getTime()).toBe(new Date('2026-12-01T00:00:00').getTime());
    expect(server.authorizations.at(-1)).toBe('Bearer tok');
  });

  it('refuses a period that ends before it starts, and shows a server error', async () => {
    sessionStorage.setItem(ADMIN_TOKEN_STORAGE_KEY, 'tok');
    await create();
    const from = q('usage-from') as HTMLInputElement;
    from.value = '2027-01-01';
    from.dispatchEvent(new Event('input'));
    (q('usage-show') as HTMLButtonElement).click();
    await fixture.whenStable();
    expect(q('usage-error')?.textContent).toContain('date de début antérieure');
    expect(server.calls).toHaveLength(1);

    server.failWith(403);
    from.value = '2026-11-01';
    from.dispatchEvent(new Event('input'));
    (q('usage-show') as HTMLButtonElement).click();
    await flush();
    await fixture.whenStable();
    expect(q('usage-error')?.getAttribute('role')).toBe('alert');
    expect(q('usage-error')?.textContent).toContain('HTTP 403');
  });

  it('downloads the period as CSV with the operator’s credentials', async () => {
    sessionStorage.setItem(ADMIN_TOKEN_STORAGE_KEY, 'tok');
    const created: Blob[] = [];
    URL.createObjectURL = vi.fn((blob: Blob) => (created.push(blob), 'blob:usage'));
    URL.revokeObjectURL = vi.fn();
    const click = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(() => undefined);
    await create();
    (q('usage-csv') as HTMLButtonElement).click();
    await flush();
    expect(server.calls.at(-1)).toMatch(/^GET \/api\/admin\/analytics\.csv\?start=.+&end=.+/);
    expect(server.authorizations.at(-1)).toBe('Bearer tok');
    expect(await created[0].text()).toBe('created_at,question\n');
    expect(click).toHaveBeenCalled();
    expect(URL.revokeObjectURL).toHaveBeenCalledWith('blob:usage');
    click.mockRestore();
  });
});
