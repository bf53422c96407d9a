import { TestBed } from '@angular/core/testing';
import { FakeHistoryServer, signedIn } from '../../testing/fake-history';
import { source } from '../../testing/fixtures';
import { ApiService } from './api.service';
import { AuthService } from './auth.service';
import { CONVERSATIONS_STORAGE_KEY, ConversationStore } from './conversation.store';
import { HistoryService } from './history.service';

describe('HistoryService', () => {
  let server: FakeHistoryServer;
  let history: HistoryService;
  let store: ConversationStore;

  beforeEach(() => {
    localStorage.clear();
    server = new FakeHistoryServer();
    server.install(TestBed.inject(ApiService));
    server.add({
      id: 'c1',
      title: 'Congés payés',
      created_at: '2026-12-01T09:00:00Z',
      updated_at: '2026-12-01T09:00:00Z',
      messages: [
        {
          message_id: 'm1',
          created_at: '2026-12-01T09:00:00Z',
          question: 'Comment poser un congé ?',
          answer: 'Dans le portail RH [1].',
          sources: [source(1)],
          withheld_sources: 0,
          answer_found: true,
          mode: 'llm',
          rating: 'down',
          comment: 'Procédure de 2019',
          wrong_chunk_ids: ['1#0'],
        },
        {
          message_id: 'm2',
          created_at: '2026-12-01T09:01:00Z',
          question: 'Et pour les RTT ?',
          answer: null,
          sources: [],
          withheld_sources: 2,
          answer_found: true,
          mode: 'extractive',
          rating: null,
          comment: null,
          wrong_chunk_ids: [],
        },
      ],
    });
    server.add({
      id: 'c2',
      title: 'Notes de frais',
      created_at: '2026-12-02T09:00:00Z',
      updated_at: '2026-12-02T09:00:00Z',
      messages: [],
    });
    history = TestBed.inject(HistoryService);
    store = TestBed.inject(ConversationStore);
  });

  it('keeps conversations in this browser when the API keeps none (no sign-in, or HISTORY=off)', async () => {
    store.ensureActive('Locale');
    await history.load();
    const auth = TestBed.inject(AuthService);
    auth.config.set({ mode: 'oidc', issuer: 'https://idp', client_id: 'rag', scopes: 'openid', audience: '', history: false });
    await history.load();
    expect(server.calls).toEqual([]);
    expect(store.serverSide()).toBe(false);
    expect(store.conversations().map((c) => c.title)).toEqual(['Locale']);
  });

  it('lists a signed-in user’s conversations from the server, newest first, and writes nothing locally', async () => {
    localStorage.setItem(CONVERSATIONS_STORAGE_KEY, JSON.stringify([]));
    signedIn(TestBed.inject(AuthService));
    await history.load();
    expect(store.serverSide()).toBe(true);
    expect(store.conversations().map((c) => c.title)).toEqual(['Notes de frais', 'Congés payés']);

    store.ensureActive('Nouvelle');
    expect(localStorage.getItem(CONVERSATIONS_STORAGE_KEY)).toBe('[]');
  });

  it('keeps nothing in this browser even when the list cannot be read, and says why', async () => {
    signedIn(TestBed.inject(AuthService));
    server.failWith(503);
    await history.load();
    expect(history.error()).toBe('Historique indisponible (HTTP 503)');
    expect(store.serverSide()).toBe(true);
    store.ensureActive('Question pendant la panne');
    expect(localStorage.getItem(CONVERSATIONS_STORAGE_KEY)).toBeNull();
  });

  it('keeps a conversation started before the list arrived', async () => {
    signedIn(TestBed.inject(AuthService));
    store.useServer();
    const id = store.ensureActive('Déjà commencée');
    store.bindServer(id, 'none', { conversation_id: 'c2', message_id: null });
    await history.load();
    expect(store.activeId()).toBe(id);
    expect(store.conversations().map((c) => c.title)).toEqual(['Déjà commencée', 'Congés payés']);
  });

  it('reopens a conversation with its messages, sources and the note for withheld sources', async () => {
    signedIn(TestBed.inject(AuthService));
    await history.load();
    await history.open('c1');
    expect(server.calls).toContain('GET /api/conversations/c1');
    expect(store.activeId()).toBe('c1');
    const [question, answer, question2, withheld] = store.messages();
    expect(question).toMatchObject({ role: 'user', content: 'Comment poser un congé ?', status: 'done' });
    expect(answer).toMatchObject({
      role: 'assistant',
      content: 'Dans le portail RH [1].',
      status: 'done',
      serverId: 'm1',
      mode: 'llm',
      answerFound: true,
      // The whole stored feedback: the next change sends it whole (the server replaces it).
      feedback: { rating: 'down', comment: 'Procédure de 2019', wrongSources: ['1#0'] },
    });
    expect(answer.sources?.[0].title).toBe('Page 1');
    expect(answer.withheld).toBeUndefined();
    expect(question2.content).toBe('Et pour les RTT ?');
    expect(withheld).toMatchObject({ content: '', withheld: 2, mode: 'extractive', serverId: 'm2' });
    expect(withheld.feedback).toBeUndefined();

    await history.open('c2');
    await history.open('c1');
    expect(server.calls.filter((c) => c === 'GET /api/conversations/c1')).toHaveLength(1);
  });

  it('renames, deletes one and deletes all on the server', async () => {
    signedIn(TestBed.inject(AuthService));
    await history.load();
    await history.rename('c1', '  Congés   2027 ');
    expect(server.conversations.get('c1')?.title).toBe('Congés 2027');
    expect(store.conversations().find((c) => c.id === 'c1')?.title).toBe('Congés 2027');

    await history.remove('c2');
    expect(server.conversations.has('c2')).toBe(false);
    expect(store.conversations().map((c) => c.id)).toEqual(['c1']);

    await history.removeAll();
    expect(server.calls.at(-1)).toBe('DELETE /api/conversations');
    expect(server.conversations.size).toBe(0);
    expect(store.conversations()).toEqual([]);
  });

  it('says why when the server fails, and keeps the list as it was', async () => {
    signedIn(TestBed.inject(AuthService));
    await history.load();
    server.failWith(503);
    await history.remove('c1');
    expect(history.error()).toBe('Historique indisponible (HTTP 503)');
    expect(store.conversations()).toHaveLength(2);

    server.failWith(null);
    await history.open('c2');
    expect(history.error()).toBeNull();
  });

  it('renames and deletes a browser-kept conversation without calling the server', async () => {
    const id = store.ensureActive('Locale');
    await history.rename(id, 'Renommée');
    expect(store.conversations()[0].title).toBe('Renommée');
    await history.removeAll();
    expect(store.conversations()).toEqual([]);
    expect(server.calls).toEqual([]);
  });
});
