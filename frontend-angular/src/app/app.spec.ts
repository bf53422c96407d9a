import { ComponentFixture, TestBed } from '@angular/core/testing';
import { FakeHistoryServer } from '../testing/fake-history';
import { jsonResponse } from '../testing/fixtures';
import { App } from './app';
import { ApiService } from './core/api.service';
import { AuthService } from './core/auth.service';
import { SpacesStore } from './core/spaces.store';

describe('App', () => {
  beforeEach(async () => {
    // The admin panel is a @defer block: its components load like lazy chunks.
    await TestBed.configureTestingModule({ imports: [App] }).compileComponents();
    localStorage.clear();
    sessionStorage.clear();
    const api = TestBed.inject(ApiService);
    api.fetchImpl = vi.fn(async (url: RequestInfo | URL) =>
      String(url) === '/api/spaces'
        ? jsonResponse(200, { spaces: [{ key: 'RH', pages: 12, chunks: 80 }, { key: 'IT', pages: 3, chunks: 9 }] })
        : jsonResponse(404, { detail: 'Not Found' }),
    ) as unknown as typeof fetch;
  });

  /** Lets the admin panel's @defer block load and render. */
  async function settle(fixture: ComponentFixture<App>) {
    await fixture.whenStable();
    await new Promise((r) => setTimeout(r, 0));
    await fixture.whenStable();
  }

  async function create() {
    const fixture = TestBed.createComponent(App);
    await fixture.whenStable();
    await new Promise((r) => setTimeout(r, 0));
    await fixture.whenStable();
    return { fixture, el: fixture.nativeElement as HTMLElement };
  }

  it('renders the shell in French: title, sidebar, chat, sources panel', async () => {
    const { el } = await create();
    expect(el.querySelector('h1')?.textContent).toContain('Assistant documentation');
    expect(el.querySelector('[data-testid="sidebar"] [data-testid="new-conversation"]')).not.toBeNull();
    expect(el.querySelector('[data-testid="question-input"]')).not.toBeNull();
    expect(el.querySelector('[data-testid="sources-panel"]')).not.toBeNull();
  });

  it('fills the space filter from /api/spaces and stores the choice', async () => {
    const { el, fixture } = await create();
    const select = el.querySelector<HTMLSelectElement>('[data-testid="space-filter"]')!;
    expect([...select.options].map((o) => o.value)).toEqual(['', 'RH', 'IT']);
    select.value = 'IT';
    select.dispatchEvent(new Event('change'));
    await fixture.whenStable();
    expect(TestBed.inject(SpacesStore).filter()).toEqual(['IT']);
  });

  it('switches the whole page to English and back', async () => {
    const { el, fixture } = await create();
    el.querySelector<HTMLButtonElement>('[data-testid="lang-en"]')!.click();
    await fixture.whenStable();
    expect(el.querySelector('h1')?.textContent).toContain('Documentation assistant');
    expect(el.querySelector('[data-testid="lang-en"]')?.getAttribute('aria-pressed')).toBe('true');
    expect(el.querySelector('label[for="question"]')?.textContent).toContain('Your question');
    el.querySelector<HTMLButtonElement>('[data-testid="lang-fr"]')!.click();
    await fixture.whenStable();
    expect(el.querySelector('h1')?.textContent).toContain('Assistant documentation');
  });

  it('opens the ingestion panel in place of the chat and comes back', async () => {
    const { el, fixture } = await create();
    const toggle = el.querySelector<HTMLButtonElement>('[data-testid="admin-toggle"]')!;
    toggle.click();
    await settle(fixture);
    expect(el.querySelector('[data-testid="ingest-panel"]')).not.toBeNull();
    expect(el.querySelector('[data-testid="question-input"]')).toBeNull();
    expect(toggle.getAttribute('aria-pressed')).toBe('true');
    toggle.click();
    await fixture.whenStable();
    expect(el.querySelector('[data-testid="question-input"]')).not.toBeNull();
  });

  it('toggles the conversation drawer with an expanded state, Escape closes it', async () => {
    const { el, fixture } = await create();
    const toggle = el.querySelector<HTMLButtonElement>('[data-testid="sidebar-toggle"]')!;
    expect(toggle.getAttribute('aria-expanded')).toBe('false');
    toggle.click();
    await fixture.whenStable();
    expect(toggle.getAttribute('aria-expanded')).toBe('true');
    expect(el.querySelector('[data-testid="sidebar"]')?.classList.contains('open')).toBe(true);
    document.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape' }));
    await fixture.whenStable();
    expect(toggle.getAttribute('aria-expanded')).toBe('false');
  });
  describe('signed in (AUTH_MODE=oidc or proxy)', () => {
    function signIn(mode: 'oidc' | 'proxy', isAdmin: boolean) {
      const auth = TestBed.inject(AuthService);
      auth.config.set({ mode, issuer: '', client_id: '', scopes: '', audience: '' });
      auth.me.set({
        authenticated: true,
        user: 'bob',
        display_name: 'Bob Durand',
        groups: ['staff'],
        is_admin: isAdmin,
      });
      auth.state.set('ready');
      return auth;
    }

    it('shows who is signed in and hides the ingestion panel from non-operators', async () => {
      signIn('oidc', false);
      const { el } = await create();
      expect(el.querySelector('[data-testid="user-name"]')?.textContent).toContain('Bob Durand');
      expect(el.querySelector('[data-testid="sign-out"]')).not.toBeNull();
      expect(el.querySelector('[data-testid="admin-toggle"]')).toBeNull();
    });

    it('offers the ingestion and usage panels to operators, without asking for the admin token', async () => {
      signIn('proxy', true);
      const { el, fixture } = await create();
      expect(el.querySelector('[data-testid="sign-out"]')).toBeNull(); // the proxy owns the session
      const toggle = el.querySelector<HTMLButtonElement>('[data-testid="admin-toggle"]')!;
      toggle.click();
      await settle(fixture);
      expect(el.querySelector('[data-testid="ingest-panel"]')).not.toBeNull();
      expect(el.querySelector('[data-testid="usage-panel"]')).not.toBeNull();
      expect(el.querySelector('[data-testid="admin-token"]')).toBeNull();
    });

    it('lists the conversations the server keeps for the signed-in user in the side panel', async () => {
      const auth = signIn('proxy', false);
      auth.config.update((c) => ({ ...c!, history: true }));
      const server = new FakeHistoryServer();
      server.add({ id: 'c1', title: 'Congés payés', created_at: '2026-12-01T09:00:00Z', updated_at: '2026-12-01T09:00:00Z', messages: [] });
      server.install(TestBed.inject(ApiService));
      const { el } = await create();
      expect(server.calls).toContain('GET /api/conversations');
      const items = el.querySelectorAll('[data-testid="sidebar"] [data-testid="conversation-item"]');
      expect([...items].map((i) => i.querySelector('.title')?.textContent)).toEqual(['Congés payés']);
      expect(el.querySelector('[data-testid="sidebar"]')?.textContent).toContain('Enregistrées sur le serveur');
    });

    it('shows only the sign-in card when nobody is signed in, and loads nothing', async () => {
      const auth = signIn('oidc', false);
      auth.me.set(null);
      auth.state.set('signed-out');
      const { el } = await create();
      expect(el.querySelector('[data-testid="sign-in"]')).not.toBeNull();
      expect(el.querySelector('[data-testid="question-input"]')).toBeNull();
      expect(el.querySelector('[data-testid="user-name"]')).toBeNull();
      expect(TestBed.inject(ApiService).fetchImpl).not.toHaveBeenCalled();
    });

    it('after an unrenewable expiry, says so and offers to sign in again', async () => {
      signIn('oidc', false).state.set('expired');
      const { el } = await create();
      expect(el.querySelector('[data-testid="sign-in-card"]')?.textContent).toContain(
        'session a expiré',
      );
    });
  });
});
