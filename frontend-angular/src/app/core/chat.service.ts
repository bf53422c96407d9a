import { Injectable, computed, inject, signal } from '@angular/core';
import { ApiError, isAbortError } from './api-error';
import { ApiService } from './api.service';
import { ConversationStore } from './conversation.store';
import { I18nService } from './i18n.service';
import { ChatMessage, ChatRequest } from './models';
import { SpacesStore } from './spaces.store';
import { newId } from './storage';

/**
 * Sends questions and streams answers into the ConversationStore.
 * One answer streams at a time; `stop()` aborts it and keeps the partial text.
 */
@Injectable({ providedIn: 'root' })
export class ChatService {
  private readonly api = inject(ApiService);
  private readonly store = inject(ConversationStore);
  private readonly spaces = inject(SpacesStore);
  private readonly i18n = inject(I18nService);

  private controller: AbortController | null = null;
  private readonly streamingState = signal<{ conversationId: string; messageId: string } | null>(
    null,
  );
  readonly streaming = computed(() => this.streamingState() !== null);
  readonly streamingMessageId = computed(() => this.streamingState()?.messageId ?? null);

  /** Adds the question to the active conversation (creating it if needed) and streams the answer. */
  async send(question: string): Promise<void> {
    const text = question.trim();
    if (!text || this.streaming()) return;
    const conversationId = this.store.ensureActive(text);
    this.store.addMessage(conversationId, message('user', text, 'done'));
    await this.answer(conversationId);
  }

  /** Replaces the last (failed or stopped) answer of the active conversation with a new one. */
  async retry(): Promise<void> {
    const conversation = this.store.active();
    if (!conversation || this.streaming()) return;
    const last = conversation.messages.at(-1);
    if (last?.role === 'assistant') this.store.removeMessage(conversation.id, last.id);
    await this.answer(conversation.id);
  }

  stop(): void {
    this.controller?.abort();
  }

  deleteConversation(id: string): void {
    if (this.streamingState()?.conversationId === id) this.stop();
    this.store.delete(id);
  }

  private async answer(conversationId: string): Promise<void> {
    const conversation = this.store.conversations().find((c) => c.id === conversationId);
    const request: ChatRequest = { messages: toRequestMessages(conversation?.messages ?? []) };
    if (conversation?.serverId) request.conversation_id = conversation.serverId;
    const spaces = this.spaces.filter();
    if (spaces) request.spaces = spaces;

    const reply = message('assistant', '', 'streaming');
    this.store.addMessage(conversationId, reply);
    const update = (patch: Partial<ChatMessage> | ((m: ChatMessage) => Partial<ChatMessage>), persist = true) =>
      this.store.updateMessage(conversationId, reply.id, patch, { persist });

    const controller = new AbortController();
    this.controller = controller;
    this.streamingState.set({ conversationId, messageId: reply.id });
    try {
      for await (const event of this.api.chat(request, controller.signal)) {
        switch (event.type) {
          case 'sources':
            update({ sources: event.sources, mode: event.mode }, false);
            break;
          case 'token':
            update((m) => ({ content: m.content + event.text }), false);
            break;
          case 'done':
            update({ status: 'done', mode: event.mode, answerFound: event.answer_found, timings: event.timings });
            this.store.bindServer(conversationId, reply.id, event);
            break;
          case 'error':
            throw new ApiError(event.status, event.message || null);
        }
      }
    } catch (err) {
      // Whatever error surfaced, an abort asked for by the user is a stop, not a failure.
      if (controller.signal.aborted || isAbortError(err)) update({ status: 'stopped' });
      else update({ status: 'error', error: this.describe(err) });
    } finally {
      if (this.controller === controller) this.controller = null;
      this.streamingState.set(null);
    }
  }

  /** A message for the user: the server's own words when it gave some, never a blank. */
  describe(err: unknown): string {
    if (err instanceof ApiError) {
      if (err.kind === 'network') return this.i18n.t('error.network');
      if (err.kind === 'stream') return this.i18n.t('error.stream');
      if (err.detail) {
        return err.status > 0
          ? this.i18n.t('error.withStatus', { message: err.detail, status: err.status })
          : err.detail;
      }
      return err.status > 0 ? this.i18n.t('error.http', { status: err.status }) : this.i18n.t('error.stream');
    }
    return err instanceof Error && err.message ? err.message : this.i18n.t('error.stream');
  }
}

function message(role: ChatMessage['role'], content: string, status: ChatMessage['status']): ChatMessage {
  return { id: newId(), role, content, status, createdAt: new Date().toISOString() };
}

/** The history sent to the API: user questions and the answers that have text (failed ones are left out). */
export function toRequestMessages(messages: ChatMessage[]): ChatRequest['messages'] {
  return messages
    .filter((m) => m.role === 'user' || (m.status !== 'error' && m.status !== 'streaming' && m.content.trim()))
    .map((m) => ({ role: m.role, content: m.content }));
}
