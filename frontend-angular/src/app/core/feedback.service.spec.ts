import { TestBed } from '@angular/core/testing';
import { FakeHistoryServer } from '../../testing/fake-history';
import { ApiService } from './api.service';
import { ConversationStore } from './conversation.store';
import { FeedbackService } from './feedback.service';
import { ChatMessage } from './models';

describe('FeedbackService', () => {
  let server: FakeHistoryServer;
  let feedback: FeedbackService;
  let store: ConversationStore;
  let conversationId: string;

  const answer = () => store.messages()[0];

  beforeEach(() => {
    localStorage.clear();
    server = new FakeHistoryServer();
    server.install(TestBed.inject(ApiService));
    feedback = TestBed.inject(FeedbackService);
    store = TestBed.inject(ConversationStore);
    conversationId = store.ensureActive('Congés ?');
    const message: ChatMessage = { id: 'a1', serverId: 'm1', role: 'assistant', content: 'Oui [1].', status: 'done', createdAt: '' };
    store.addMessage(conversationId, message);
  });

  it('sends the whole feedback each time: the thumb, then the comment with it', async () => {
    expect(await feedback.update(answer(), { rating: 'down' })).toBeNull();
    expect(await feedback.update(answer(), { comment: '  Procédure de 2019  ' })).toBeNull();
    expect(server.feedback).toEqual([
      { message_id: 'm1', rating: 'down', wrong_chunk_ids: [] },
      { message_id: 'm1', rating: 'down', comment: 'Procédure de 2019', wrong_chunk_ids: [] },
    ]);
    expect(answer().feedback).toMatchObject({ rating: 'down', comment: '  Procédure de 2019  ' });
  });

  it('marks a wrong source (a thumb down when none was given) and takes the mark back', async () => {
    await feedback.toggleWrongSource(answer(), '101#0');
    expect(server.feedback.at(-1)).toEqual({ message_id: 'm1', rating: 'down', wrong_chunk_ids: ['101#0'] });
    expect(answer().feedback).toEqual({ rating: 'down', wrongSources: ['101#0'] });

    await feedback.update(answer(), { rating: 'up' });
    await feedback.toggleWrongSource(answer(), '101#0');
    expect(server.feedback.at(-1)).toEqual({ message_id: 'm1', rating: 'up', wrong_chunk_ids: [] });
  });

  it('returns the error and keeps the feedback unchanged when the server refuses it', async () => {
    server.failWith(503);
    expect(await feedback.update(answer(), { rating: 'up' })).toBe('Historique indisponible (HTTP 503)');
    expect(answer().feedback).toBeUndefined();
  });

  it('sends nothing for an answer the server did not store', async () => {
    store.updateMessage(conversationId, 'a1', { serverId: undefined });
    expect(await feedback.update(answer(), { rating: 'up' })).toBeNull();
    expect(server.calls).toEqual([]);
  });
});
