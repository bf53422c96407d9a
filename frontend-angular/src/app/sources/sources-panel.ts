import { Component, inject, input, output, signal } from '@angular/core';
import { FeedbackService } from '../core/feedback.service';
import { I18nService } from '../core/i18n.service';
import { isLinkableUrl, plainSnippet } from '../core/markdown';
import { ChatMessage, Source } from '../core/models';

/** The passages an answer is based on, numbered like the citations in the answer. */
@Component({
  selector: 'app-sources-panel',
  templateUrl: './sources-panel.html',
  styleUrl: './sources-panel.css',
})
export class SourcesPanel {
  protected readonly i18n = inject(I18nService);
  private readonly feedback = inject(FeedbackService);
  readonly sources = input<readonly Source[]>([]);
  /** The answer the sources belong to: a stored one (with a message_id) lets the user flag a wrong passage. */
  readonly message = input<ChatMessage | null>(null);
  protected readonly error = signal<string | null>(null);
  /** The close button (shown when the panel is a drawer on narrow screens). */
  readonly closed = output<void>();
  protected readonly isLinkableUrl = isLinkableUrl;
  protected readonly plainSnippet = plainSnippet;

  protected isWrong(source: Source): boolean {
    return !!this.message()?.feedback?.wrongSources?.includes(source.chunk_id);
  }

  protected async toggleWrong(source: Source): Promise<void> {
    const message = this.message();
    if (message) this.error.set(await this.feedback.toggleWrongSource(message, source.chunk_id));
  }
}
