import { Injectable, inject } from '@angular/core';
import { ApiService } from './api.service';
import { ChatService } from './chat.service';
import { ConversationStore } from './conversation.store';
import { ChatMessage, MessageFeedback } from './models';

/**
 * Thumbs, comment and "this source was wrong" on an answer of the active conversation.
 * The server keeps one feedback per answer and a new one replaces it, so every call sends the
 * whole of it (rating, comment, wrong sources). A source marked wrong without a thumb counts
 * as a thumb down.
 */
@Injectable({ providedIn: 'root' })
export class FeedbackService {
  private readonly api = inject(ApiService);
  private readonly chat = inject(ChatService);
  private readonly store = inject(ConversationStore);

  /** Records `change`; resolves to null, or to the error to show (the feedback is then unchanged). */
  async update(message: ChatMessage, change: MessageFeedback): Promise<string | null> {
    const conversationId = this.store.activeId();
    if (!message.serverId || !conversationId) return null;
    const rating = change.rating ?? message.feedback?.rating ?? 'down';
    const next: MessageFeedback = { ...message.feedback, ...change, rating };
    try {
      await this.api.sendFeedback({
        message_id: message.serverId,
        rating,
        ...(next.comment?.trim() ? { comment: next.comment.trim() } : {}),
        wrong_chunk_ids: next.wrongSources ?? [],
      });
    } catch (err) {
      return this.chat.describe(err);
    }
    this.store.updateMessage(conversationId, message.id, { feedback: next });
    return null;
  }

  /** Marks a cited passage as wrong, or takes the mark back. */
  toggleWrongSource(message: ChatMessage, chunkId: string): Promise<string | null> {
    const wrong = message.feedback?.wrongSources ?? [];
    const wrongSources = wrong.includes(chunkId) ? wrong.filter((id) => id !== chunkId) : [...wrong, chunkId];
    return this.update(message, { wrongSources });
  }
}
