import { Injectable, inject, signal } from '@angular/core';
import { ApiService } from './api.service';
import { AuthService } from './auth.service';
import { ChatService } from './chat.service';
import { ConversationStore } from './conversation.store';

/**
 * Where conversations are kept and the calls that change them. When the API says so
 * (GET /api/auth/config `history`: signed-in users with HISTORY=on), they are kept on the server
 * (/api/conversations) and follow the user from browser to browser; otherwise (no sign-in,
 * HISTORY=off) they stay in this browser, as before.
 * A failed call leaves the list as it was and sets `error` (shown in the side panel).
 */
@Injectable({ providedIn: 'root' })
export class HistoryService {
  private readonly api = inject(ApiService);
  private readonly auth = inject(AuthService);
  private readonly chat = inject(ChatService);
  private readonly store = inject(ConversationStore);

  readonly error = signal<string | null>(null);

  /** Loads the signed-in user's conversations from the server (no-op when the browser keeps them). */
  async load(): Promise<void> {
    if (!this.auth.config()?.history) return;
    this.store.useServer(); // even if the list cannot be read now: never fall back to this browser
    await this.call(async () => this.store.setServerList(await this.api.listConversations()));
  }

  /** Shows a conversation, fetching its messages from the server the first time. */
  async open(id: string): Promise<void> {
    this.store.select(id);
    const conversation = this.store.active();
    if (!conversation?.serverId || conversation.loaded !== false) return;
    await this.call(async () => this.store.setDetail(id, await this.api.getConversation(conversation.serverId!)));
  }

  async rename(id: string, title: string): Promise<void> {
    const text = title.replace(/\s+/g, ' ').trim();
    const serverId = this.serverId(id);
    if (!text) return;
    await this.call(async () => {
      if (serverId) await this.api.renameConversation(serverId, text);
      this.store.rename(id, text);
    });
  }

  async remove(id: string): Promise<void> {
    const serverId = this.serverId(id);
    await this.call(async () => {
      if (serverId) await this.api.deleteConversation(serverId);
      this.chat.deleteConversation(id);
    });
  }

  async removeAll(): Promise<void> {
    await this.call(async () => {
      if (this.store.serverSide()) await this.api.deleteAllConversations();
      this.chat.stop();
      this.store.clear();
    });
  }

  /** The server's id of a conversation kept there; undefined for one kept in this browser. */
  private serverId(id: string): string | undefined {
    if (!this.store.serverSide()) return undefined;
    return this.store.conversations().find((c) => c.id === id)?.serverId;
  }

  private async call(action: () => Promise<void>): Promise<void> {
    try {
      await action();
      this.error.set(null);
    } catch (err) {
      this.error.set(this.chat.describe(err));
    }
  }
}
