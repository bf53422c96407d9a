import { Component, inject, output, signal } from '@angular/core';
import { ConversationStore } from '../core/conversation.store';
import { HistoryService } from '../core/history.service';
import { I18nService } from '../core/i18n.service';

/** Sidebar: new conversation, past conversations (server or browser), rename, delete, delete all. */
@Component({
  selector: 'app-conversation-list',
  templateUrl: './conversation-list.html',
  styleUrl: './conversation-list.css',
})
export class ConversationList {
  protected readonly i18n = inject(I18nService);
  protected readonly store = inject(ConversationStore);
  protected readonly history = inject(HistoryService);
  /** Emitted after a conversation was chosen or started (the phone drawer closes). */
  readonly picked = output<void>();

  /** The conversation whose title is being edited. */
  protected readonly renaming = signal<string | null>(null);
  /** "Delete all" asks once more before it deletes. */
  protected readonly confirmingDeleteAll = signal(false);

  protected startNew(): void {
    this.store.startNew();
    this.picked.emit();
    focusLater('question');
  }

  protected select(id: string): void {
    void this.history.open(id);
    this.picked.emit();
  }

  protected startRename(id: string): void {
    this.renaming.set(id);
    focusLater('rename-input');
  }

  protected async saveRename(id: string, title: string): Promise<void> {
    this.renaming.set(null);
    await this.history.rename(id, title);
    focusLater(`conversation-${id}`);
  }

  protected cancelRename(id: string): void {
    this.renaming.set(null);
    focusLater(`conversation-${id}`);
  }

  /** After a deletion the focus, which was on a button now gone, goes to "New conversation". */
  protected async remove(id: string): Promise<void> {
    await this.history.remove(id);
    focusLater('new-conversation');
  }

  protected async removeAll(): Promise<void> {
    this.confirmingDeleteAll.set(false);
    await this.history.removeAll();
    focusLater('new-conversation');
  }
}

/** Moves the keyboard focus once the element is rendered. */
function focusLater(elementId: string): void {
  setTimeout(() => document.getElementById(elementId)?.focus());
}
