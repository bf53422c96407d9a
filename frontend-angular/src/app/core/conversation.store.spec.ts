import { TestBed } from '@angular/core/testing';
import { CONVERSATIONS_STORAGE_KEY, ConversationStore, makeTitle } from './conversation.store';
import { ChatMessage } from './models';

function msg(role: ChatMessage['role'], content: string, status: ChatMessage['status'] = 'done'): ChatMessage {
  return { id: `${role}-${content}`, role, content, status, createdAt: '2026-11-24T07:00:00Z' };
}

/** A fresh store instance, as after a page reload. */
function reload(): ConversationStore {
  TestBed.resetTestingModule();
  return TestBed.inject(ConversationStore);
}

function stored(): unknown[] {
  return JSON.parse(localStorage.getItem(CONVERSATIONS_STORAGE_KEY) ?? '[]');
}

describe('ConversationStore', () => {
  beforeEach(() => localStorage.clear());

  it('starts with no conversation and no active one', () => {
    const store = TestBed.inject(ConversationStore);
    expect(store.conversations()).toEqual([]);
    expect(store.active()).toBeNull();
    expect(store.messages()).toEqual([]);
  });

  it('creates the conversation on the first question and persists it with its messages', () => {
    const store = TestBed.inject(ConversationStore);
    const id = store.ensureActive('Comment poser un congé ?');
    store.addMessage(id, msg('user', 'Comment poser un congé ?'));
    store.addMessage(id, msg('assistant', 'Dans le portail RH [1].'));

    expect(store.activeId()).toBe(id);
    expect(store.ensureActive('autre')).toBe(id);

    const again = reload();
    expect(again.conversations()).toHaveLength(1);
    expect(again.conversations()[0].title).toBe('Comment poser un congé ?');
    again.select(id);
    expect(again.messages().map((m) => m.content)).toEqual(['Comment poser un congé ?', 'Dans le portail RH [1].']);
  });

  it('does not write streaming updates made with persist: false until a persisted update', () => {
    const store = TestBed.inject(ConversationStore);
    const id = store.ensureActive('q');
    store.addMessage(id, msg('assistant', '', 'streaming'));
    store.updateMessage(id, 'assistant-', { content: 'partiel' }, { persist: false });

    expect(store.messages()[0].content).toBe('partiel');
    expect((stored()[0] as { messages: ChatMessage[] }).messages[0].content).toBe('');

    store.updateMessage(id, 'assistant-', { status: 'done' });
    expect((stored()[0] as { messages: ChatMessage[] }).messages[0]).toMatchObject({ content: 'partiel', status: 'done' });
  });

  it('restores an answer that was still streaming at reload as stopped', () => {
    const store = TestBed.inject(ConversationStore);
    const id = store.ensureActive('q');
    store.addMessage(id, msg('assistant', 'à moitié', 'streaming'));
    const again = reload();
    again.select(id);
    expect(again.messages()[0].status).toBe('stopped');
  });

  it('lists the most recently updated conversation first', async () => {
    const store = TestBed.inject(ConversationStore);
    const first = store.ensureActive('première');
    store.startNew();
    await new Promise((r) => setTimeout(r, 5));
    const second = store.ensureActive('seconde');
    expect(store.conversations().map((c) => c.id)).toEqual([second, first]);
    await new Promise((r) => setTimeout(r, 5));
    store.addMessage(first, msg('user', 'relance'));
    expect(store.conversations().map((c) => c.id)).toEqual([first, second]);
  });

  it('deletes a conversation from memory and storage and clears the selection', () => {
    const store = TestBed.inject(ConversationStore);
    const id = store.ensureActive('à supprimer');
    store.delete(id);
    expect(store.conversations()).toEqual([]);
    expect(store.activeId()).toBeNull();
    expect(stored()).toEqual([]);
  });

  it('startNew leaves the stored conversations alone and selects none', () => {
    const store = TestBed.inject(ConversationStore);
    store.ensureActive('gardée');
    store.startNew();
    expect(store.active()).toBeNull();
    expect(store.conversations()).toHaveLength(1);
  });

  it('ignores corrupted or malformed storage', () => {
    localStorage.setItem(CONVERSATIONS_STORAGE_KEY, '{not json');
    expect(reload().conversations()).toEqual([]);
    localStorage.setItem(
      CONVERSATIONS_STORAGE_KEY,
      JSON.stringify([{ id: 1 }, { id: 'ok', title: 't', createdAt: 'a', updatedAt: 'b', messages: [{ bad: true }] }]),
    );
    const store = reload();
    expect(store.conversations().map((c) => c.id)).toEqual(['ok']);
    expect(store.conversations()[0].messages).toEqual([]);
  });

  it('makes a one-line title of at most 60 characters', () => {
    expect(makeTitle('  Bonjour\n  le   monde ')).toBe('Bonjour le monde');
    const long = makeTitle('x'.repeat(100));
    expect(long).toHaveLength(60);
    expect(long.endsWith('…')).toBe(true);
  });
});
