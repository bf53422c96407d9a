import { ComponentFixture, TestBed } from '@angular/core/testing';
import { ApiError } from '../core/api-error';
import { ApiService } from '../core/api.service';
import { I18nService } from '../core/i18n.service';
import { AccessExplanation } from '../core/models';
import { AccessExplain } from './access-explain';

const READ = '2026-12-05T00:10:00+00:00';

function explanation(overrides: Partial<AccessExplanation> = {}): AccessExplanation {
  return {
    user: 'erin',
    page_id: '1003',
    title: 'Salaires',
    space_key: 'RH',
    enforced: true,
    groups_source: 'confluence',
    principals: ['g:staff', 'u:erin'],
    groups: [{ group: 'g:staff', read_at: READ }],
    space: { space_key: 'RH', known: true, anonymous: false, principals: ['g:staff'], matched: ['g:staff'], grants: true, read_at: READ },
    layers: [
      { content_id: '1001', title: 'Accueil RH', restricted: false, unreadable: false, principals: [], matched: [], passes: true },
      { content_id: '1002', title: 'Paie', restricted: true, unreadable: false, principals: ['g:finance'], matched: [], passes: false },
      { content_id: '1003', title: 'Salaires', restricted: true, unreadable: true, principals: [], matched: [], passes: false },
    ],
    layers_read_at: READ,
    can_read: false,
    reasons: ['The user is in none of the users or groups of the read restriction on content 1002.'],
    ...overrides,
  };
}

describe('AccessExplain', () => {
  let fixture: ComponentFixture<AccessExplain>;
  let el: HTMLElement;
  let api: ApiService;

  const q = <T extends HTMLElement = HTMLElement>(testId: string) => el.querySelector<T>(`[data-testid="${testId}"]`);

  async function fill(testId: string, value: string) {
    const input = q<HTMLInputElement>(testId)!;
    input.value = value;
    input.dispatchEvent(new Event('input'));
    await fixture.whenStable();
  }

  async function ask() {
    q<HTMLButtonElement>('access-button')!.click();
    for (let i = 0; i < 3; i++) await Promise.resolve();
    await fixture.whenStable();
  }

  beforeEach(async () => {
    localStorage.clear();
    api = TestBed.inject(ApiService);
    fixture = TestBed.createComponent(AccessExplain);
    fixture.componentRef.setInput('token', 'tok');
    el = fixture.nativeElement;
    await fixture.whenStable();
  });

  it('needs a page id before it asks', async () => {
    expect(q<HTMLButtonElement>('access-button')!.disabled).toBe(true);
    await fill('access-page', '1003');
    expect(q<HTMLButtonElement>('access-button')!.disabled).toBe(false);
  });

  it('asks with the admin token and shows the decision, the space grant, each layer and the groups (FR)', async () => {
    const call = vi.spyOn(api, 'explainAccess').mockResolvedValue(explanation());
    await fill('access-user', ' erin ');
    await fill('access-page', ' 1003 ');
    await ask();

    expect(call).toHaveBeenCalledWith('tok', '1003', 'erin');
    expect(q('access-decision')?.textContent).toContain('Ne peut pas lire la page');
    expect(q('access-decision')?.getAttribute('data-allowed')).toBe('false');
    expect(q('access-space')?.textContent).toContain('accordé');
    expect(q('access-space')?.textContent).toContain('g:staff');
    const rows = [...el.querySelectorAll('[data-testid="access-layer"]')].map((row) => row.textContent ?? '');
    expect(rows).toHaveLength(3);
    expect(rows[0]).toContain('aucune restriction');
    expect(rows[1]).toContain('g:finance');
    expect(rows[1]).toContain('bloque');
    expect(rows[2]).toContain('illisible');
    expect(q('access-groups')?.textContent).toContain('lu le');
    const reasons = q('access-reasons')!.textContent!;
    expect(reasons).toContain('restriction de « Paie »');
    expect(reasons).toContain('« Salaires » n’a pas pu être lue');
  });

  it('speaks English and says when a fact was never read', async () => {
    TestBed.inject(I18nService).setLang('en');
    vi.spyOn(api, 'explainAccess').mockResolvedValue(
      explanation({ can_read: true, layers_read_at: null, layers: [], groups: [] }),
    );
    await fill('access-page', '1003');
    await ask();
    expect(q('access-decision')?.textContent).toContain('Can read the page');
    expect(q('access-reasons')?.textContent).toContain('passes every restriction');
    expect(el.textContent).toContain('never read');
    expect(el.textContent).toContain('No known group.');
  });

  it('says only that permissions are off when they are', async () => {
    vi.spyOn(api, 'explainAccess').mockResolvedValue(explanation({ enforced: false, can_read: true }));
    await fill('access-page', '1003');
    await ask();
    expect(q('access-not-enforced')?.textContent).toContain('PERMISSIONS=off');
    expect(q('access-layers')).toBeNull();
  });

  it('shows the server detail of a refusal (404 unknown page, 403 not an operator)', async () => {
    vi.spyOn(api, 'explainAccess').mockRejectedValue(new ApiError(404, 'No indexed page has this id.'));
    await fill('access-page', '42');
    await ask();
    expect(q('access-error')?.textContent).toContain('No indexed page has this id.');
    expect(q('access-result')).toBeNull();
  });
});
