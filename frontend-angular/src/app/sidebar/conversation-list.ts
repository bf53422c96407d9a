import { Component, inject, output } from '@angular/core';
import { ChatService } from '../core/chat.service';
import { ConversationStore } from '../core/conversation.store';
import { I18nService } from '../core/i18n.service';

/** Sidebar: new conversation, past conversations (from localStorage), delete. */
@Component({
  selector: 'app-conversation-list',
  templateUrl: './conversation-list.html',
  styleUrl: './conversation-list.css',
})
export class ConversationList {
  protected readonly i18n = inject(I18nService);
  protected readonly store = inject(ConversationStore);
  private readonly chat = inject(ChatService);
  /** Emitted after a conversation was chosen or started (the phone drawer closes). */
  readonly picked = output<void>();

  protected startNew(): void {
    this.store.startNew();
    this.picked.emit();
    // Move focus to the question box so the keyboard user can type right away.
    queueMicrotask(() => document.getElementById('question')?.focus());
  }

  protected select(id: string): void {
    this.store.select(id);
    this.picked.emit();
  }

  protected remove(id: string): void {
    this.chat.deleteConversation(id);
  }
}
