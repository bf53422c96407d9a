import { Component, ElementRef, afterRenderEffect, computed, inject, output, signal, viewChild } from '@angular/core';
import { ChatService } from '../core/chat.service';
import { ConversationStore } from '../core/conversation.store';
import { I18nService } from '../core/i18n.service';
import { Message } from './message';

/** Message list of the active conversation and the question composer. */
@Component({
  selector: 'app-chat',
  imports: [Message],
  templateUrl: './chat.html',
  styleUrl: './chat.css',
})
export class Chat {
  protected readonly i18n = inject(I18nService);
  protected readonly store = inject(ConversationStore);
  protected readonly chat = inject(ChatService);
  /** The id of the answer whose sources the user asked to see. */
  readonly showSources = output<string>();

  protected readonly draft = signal('');
  protected readonly canSend = computed(() => this.draft().trim().length > 0 && !this.chat.streaming());
  protected readonly lastId = computed(() => this.store.messages().at(-1)?.id ?? null);
  /** Announced to screen readers when an answer starts and ends (not every token). */
  protected readonly liveStatus = computed(() =>
    this.chat.streaming() ? this.i18n.t('chat.answering') : this.store.messages().length ? this.i18n.t('chat.answered') : '',
  );

  private readonly list = viewChild.required<ElementRef<HTMLElement>>('list');
  private stickToBottom = true;

  constructor() {
    // Follow the streaming answer unless the user scrolled up to read.
    afterRenderEffect(() => {
      this.store.messages();
      const el = this.list().nativeElement;
      if (this.stickToBottom) el.scrollTop = el.scrollHeight;
    });
  }

  protected onScroll(): void {
    const el = this.list().nativeElement;
    this.stickToBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 48;
  }

  protected onKeydown(event: KeyboardEvent): void {
    if (event.key !== 'Enter' || event.shiftKey || event.isComposing) return;
    event.preventDefault();
    this.submit();
  }

  protected submit(): void {
    if (!this.canSend()) return;
    const question = this.draft();
    this.draft.set('');
    this.stickToBottom = true;
    void this.chat.send(question);
  }
}
