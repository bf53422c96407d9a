import { TestBed } from '@angular/core/testing';
import { FakeHistoryServer } from '../../testing/fake-history';
import { flush, source } from '../../testing/fixtures';
import { ApiService } from '../core/api.service';
import { ConversationStore } from '../core/conversation.store';
import { SourcesPanel } from './sources-panel';

describe('SourcesPanel', () => {
  it('shows a hint when there are no sources', async () => {
    const fixture = TestBed.createComponent(SourcesPanel);
    await fixture.whenStable();
    expect(fixture.nativeElement.textContent).toContain('Les sources de la réponse apparaîtront ici.');
    expect(fixture.nativeElement.querySelector('[data-testid="source"]')).toBeNull();
  });

  it('lists each source with its title as a link, space, breadcrumb and snippet', async () => {
    const fixture = TestBed.createComponent(SourcesPanel);
    fixture.componentRef.setInput('sources', [source(1), source(2, { title: 'Télétravail', space_key: 'IT', breadcrumb: [] , heading: '' })]);
    await fixture.whenStable();
    const items = fixture.nativeElement.querySelectorAll('[data-testid="source"]') as NodeListOf<HTMLElement>;
    expect(items).toHaveLength(2);

    const link = items[0].querySelector<HTMLAnchorElement>('[data-testid="source-link"]')!;
    expect(link.textContent).toBe('Page 1');
    expect(link.getAttribute('href')).toBe(source(1).url);
    expect(link.getAttribute('target')).toBe('_blank');
    expect(items[0].id).toBe('source-1');
    expect(items[0].querySelector('.badge')?.textContent).toBe('RH');
    expect(items[0].querySelector('[data-testid="source-breadcrumb"]')?.textContent).toContain('Accueil RH');
    expect(items[0].querySelector('[data-testid="source-breadcrumb"]')?.textContent).toContain('Poser un congé');
    expect(items[0].querySelector('[data-testid="source-snippet"]')?.textContent).toBe('Extrait 1');

    expect(items[1].querySelector('.badge')?.textContent).toBe('IT');
    expect(items[1].querySelector('[data-testid="source-breadcrumb"]')).toBeNull();
  });

  it('does not make a link of a non-http URL', async () => {
    const fixture = TestBed.createComponent(SourcesPanel);
    fixture.componentRef.setInput('sources', [source(1, { url: 'javascript:alert(1)' })]);
    await fixture.whenStable();
    expect(fixture.nativeElement.querySelector('a')).toBeNull();
    expect(fixture.nativeElement.textContent).toContain('Page 1');
  });

  it('lets the user mark a cited passage of a stored answer as wrong, and take it back', async () => {
    localStorage.clear();
    const server = new FakeHistoryServer();
    server.install(TestBed.inject(ApiService));
    const store = TestBed.inject(ConversationStore);
    const id = store.ensureActive('Congés ?');
    store.addMessage(id, { id: 'a1', role: 'assistant', content: '[1]', status: 'done', createdAt: '', sources: [source(1)] });
    const fixture = TestBed.createComponent(SourcesPanel);
    const show = async () => {
      await flush();
      fixture.componentRef.setInput('message', store.messages()[0]);
      fixture.componentRef.setInput('sources', store.messages()[0].sources);
      await fixture.whenStable();
      return fixture.nativeElement.querySelector('[data-testid="wrong-source"]') as HTMLButtonElement | null;
    };
    expect(await show()).toBeNull();

    store.updateMessage(id, 'a1', { serverId: 'm1' });
    const button = (await show())!;
    expect(button.getAttribute('aria-label')).toBe('Source erronée : 1, « Page 1 »');
    expect(button.getAttribute('aria-pressed')).toBe('false');
    button.click();
    expect((await show())!.getAttribute('aria-pressed')).toBe('true');
    expect(server.feedback.at(-1)).toEqual({ message_id: 'm1', rating: 'down', wrong_chunk_ids: ['101#0'] });

    (await show())!.click();
    expect((await show())!.getAttribute('aria-pressed')).toBe('false');
    expect(server.feedback.at(-1)?.wrong_chunk_ids).toEqual([]);
  });
});
