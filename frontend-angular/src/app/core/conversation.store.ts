import { Injectable, computed, signal } from '@angular/core';
import { ChatMessage, Conversation, ConversationDetail, ConversationSummary, MessageFeedback, StoredAnswer } from './models';
import { newId, readStorage, writeStorage } from './storage';

export const CONVERSATIONS_STORAGE_KEY = 'confluence-rag.conversations.v1';
const MAX_CONVERSATIONS = 50;
const TITLE_LENGTH = 60;

/**
 * Conversations as signals, persisted in localStorage, or kept on the server once
 * `useServer()` was called (signed-in users: the list comes from GET /api/conversations and
 * nothing is written to this browser). `activeId === null` is a fresh, not-yet-saved
 * conversation: it is created by the first message sent.
 * Streaming token updates pass `persist: false`; the final state is saved when the answer ends.
 */
@Injectable({ providedIn: 'root' })
export class ConversationStore {
  private readonly state = signal<Conversation[]>(loadConversations());
  private readonly activeIdState = signal<string | null>(null);
  private readonly serverSideState = signal(false);
  /** True when conversations live on the server rather than in localStorage. */
  readonly serverSide = this.serverSideState.asReadonly();

  /** Most recently updated first. */
  readonly conversations = computed(() =>
    [...this.state()].sort((a, b) => b.updatedAt.localeCompare(a.updatedAt)),
  );
  readonly activeId = this.activeIdState.asReadonly();
  readonly active = computed(() => this.state().find((c) => c.id === this.activeIdState()) ?? null);
  readonly messages = computed(() => this.active()?.messages ?? []);

  /** Starts a fresh conversation (it is stored when its first message is added). */
  startNew(): void {
    this.activeIdState.set(null);
  }

  select(id: string): void {
    if (this.state().some((c) => c.id === id)) this.activeIdState.set(id);
  }

  /** Switches to server-side history: what this browser kept is neither shown nor written any more. */
  useServer(): void {
    if (this.serverSide()) return;
    this.serverSideState.set(true);
    this.activeIdState.set(null);
    this.state.set([]);
  }

  /**
   * The caller's conversations as the server lists them (their messages come when reopened).
   * Conversations of this session (already started or reopened) are kept as they are.
   */
  setServerList(summaries: ConversationSummary[]): void {
    const inSession = this.state().filter((c) => c.loaded !== false);
    const known = new Set(inSession.map((c) => c.serverId));
    const listed = summaries
      .filter((c) => !known.has(c.id))
      .map((c) => ({
        id: c.id,
        serverId: c.id,
        title: c.title,
        createdAt: c.updated_at,
        updatedAt: c.updated_at,
        messages: [],
        loaded: false,
      }));
    this.state.set([...inSession, ...listed]);
  }

  /** Fills a server conversation with its messages (GET /api/conversations/{id}). */
  setDetail(id: string, detail: ConversationDetail): void {
    this.state.update((all) =>
      all.map((c) =>
        c.id === id
          ? {
              ...c,
              title: detail.title,
              loaded: true,
              messages: detail.messages.flatMap(fromStoredAnswer),
            }
          : c,
      ),
    );
  }

  /** Records the ids the server gave a conversation and its answer (the chat's `done` event). */
  bindServer(id: string, messageId: string, ids: { conversation_id: string | null; message_id: string | null }): void {
    this.updateConversation(id, (c) => ({
      ...c,
      ...(ids.conversation_id ? { serverId: ids.conversation_id } : {}),
      messages: c.messages.map((m) => (m.id === messageId && ids.message_id ? { ...m, serverId: ids.message_id } : m)),
    }));
  }

  rename(id: string, title: string): void {
    this.updateConversation(id, (c) => ({ ...c, title }));
  }

  clear(): void {
    this.commit([]);
    this.activeIdState.set(null);
  }

  delete(id: string): void {
    this.commit(this.state().filter((c) => c.id !== id));
    if (this.activeIdState() === id) this.activeIdState.set(null);
  }

  /** Returns the active conversation's id, creating and selecting one if needed. */
  ensureActive(firstQuestion: string): string {
    const current = this.active();
    if (current) return current.id;
    const now = new Date().toISOString();
    const conversation: Conversation = {
      id: newId(),
      title: makeTitle(firstQuestion),
      createdAt: now,
      updatedAt: now,
      messages: [],
    };
    this.commit([conversation, ...this.state()]);
    this.activeIdState.set(conversation.id);
    return conversation.id;
  }

  addMessage(conversationId: string, message: ChatMessage): void {
    this.updateConversation(conversationId, (c) => ({ ...c, messages: [...c.messages, message] }));
  }

  updateMessage(
    conversationId: string,
    messageId: string,
    patch: Partial<ChatMessage> | ((m: ChatMessage) => Partial<ChatMessage>),
    options: { persist?: boolean } = {},
  ): void {
    this.updateConversation(
      conversationId,
      (c) => ({
        ...c,
        messages: c.messages.map((m) =>
          m.id === messageId ? { ...m, ...(typeof patch === 'function' ? patch(m) : patch) } : m,
        ),
      }),
      options.persist ?? true,
    );
  }

  removeMessage(conversationId: string, messageId: string): void {
    this.updateConversation(conversationId, (c) => ({
      ...c,
      messages: c.messages.filter((m) => m.id !== messageId),
    }));
  }

  private updateConversation(
    id: string,
    change: (c: Conversation) => Conversation,
    persist = true,
  ): void {
    const next = this.state().map((c) =>
      c.id === id ? { ...change(c), updatedAt: new Date().toISOString() } : c,
    );
    if (persist) this.commit(next);
    else this.state.set(next);
  }

  private commit(conversations: Conversation[]): void {
    if (this.serverSide()) {
      this.state.set(conversations);
      return;
    }
    const kept = [...conversations]
      .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt))
      .slice(0, MAX_CONVERSATIONS);
    this.state.set(kept);
    writeStorage(localStorage, CONVERSATIONS_STORAGE_KEY, JSON.stringify(kept));
  }
}

/** A stored question and answer as the two messages the chat shows. */
function fromStoredAnswer(stored: StoredAnswer): ChatMessage[] {
  const at = stored.created_at;
  const question: ChatMessage = { id: `${stored.message_id}-q`, role: 'user', content: stored.question, status: 'done', createdAt: at };
  const answer: ChatMessage = {
    id: stored.message_id,
    serverId: stored.message_id,
    role: 'assistant',
    content: stored.answer ?? '',
    status: 'done',
    createdAt: at,
    sources: stored.sources,
    mode: stored.mode === 'extractive' ? 'extractive' : 'llm',
    answerFound: stored.answer_found,
    ...(stored.withheld_sources ? { withheld: stored.withheld_sources } : {}),
    ...(stored.rating ? { feedback: storedFeedback(stored) } : {}),
  };
  return [question, answer];
}

/** The feedback kept with a stored answer: sent back whole with the next change (it replaces it). */
function storedFeedback(stored: StoredAnswer): MessageFeedback {
  return {
    rating: stored.rating ?? undefined,
    ...(stored.comment ? { comment: stored.comment } : {}),
    ...(stored.wrong_chunk_ids.length ? { wrongSources: stored.wrong_chunk_ids } : {}),
  };
}

export function makeTitle(question: string): string {
  const oneLine = question.replace(/\s+/g, ' ').trim();
  return oneLine.length > TITLE_LENGTH ? `${oneLine.slice(0, TITLE_LENGTH - 1)}…` : oneLine;
}

/** Reads stored conversations, dropping anything malformed. An answer still streaming when
 * the page was closed is restored as stopped. */
export function loadConversations(): Conversation[] {
  const raw = readStorage(localStorage, CONVERSATIONS_STORAGE_KEY);
  if (!raw) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  return parsed.filter(isConversation).map((c) => ({
    ...c,
    messages: c.messages
      .filter(isMessage)
      .map((m) => (m.status === 'streaming' ? { ...m, status: 'stopped' as const } : m)),
  }));
}

function isConversation(value: unknown): value is Conversation {
  const c = value as Conversation;
  return (
    !!c &&
    typeof c.id === 'string' &&
    typeof c.title === 'string' &&
    typeof c.updatedAt === 'string' &&
    typeof c.createdAt === 'string' &&
    Array.isArray(c.messages)
  );
}

function isMessage(value: unknown): value is ChatMessage {
  const m = value as ChatMessage;
  return (
    !!m &&
    typeof m.id === 'string' &&
    (m.role === 'user' || m.role === 'assistant') &&
    typeof m.content === 'string'
  );
}
