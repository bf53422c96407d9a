import { Component, computed, inject, input, output, signal } from '@angular/core';
import { FeedbackService } from '../core/feedback.service';
import { I18nService } from '../core/i18n.service';
import { renderMarkdown } from '../core/markdown';
import { ChatMessage, Rating } from '../core/models';
import { copyText } from './clipboard';

type CopyState = 'idle' | 'copied' | 'failed';

/** One question or answer. Answers are Markdown with citation links, plus notices and actions. */
@Component({
  selector: 'app-message',
  templateUrl: './message.html',
  styleUrl: './message.css',
  host: {
    'data-testid': 'message',
    '[attr.data-role]': 'message().role',
    '[attr.data-status]': 'message().status',
    '[class]': '"message " + message().role',
  },
})
export class Message {
  protected readonly i18n = inject(I18nService);
  private readonly feedback = inject(FeedbackService);

  readonly message = input.required<ChatMessage>();
  /** The last message of the conversation: only it offers "Retry". */
  readonly last = input(false);
  /** An answer is streaming somewhere: retry is not offered meanwhile. */
  readonly busy = input(false);
  readonly retry = output<void>();
  readonly showSources = output<void>();

  protected readonly copyState = signal<CopyState>('idle');
  /** The comment box shows after a thumb until the comment is sent. */
  protected readonly commenting = signal(false);
  protected readonly feedbackError = signal<string | null>(null);
  /** Announced once the server has the feedback. */
  protected readonly feedbackStatus = signal('');
  /** Answers the server stored (they have a message_id) take feedback. */
  protected readonly canRate = computed(() => !!this.message().serverId && this.message().status === 'done');
  private copyTimer: ReturnType<typeof setTimeout> | undefined;

  protected readonly html = computed(() => {
    const m = this.message();
    return renderMarkdown(m.content, m.sources ?? [], (s) =>
      this.i18n.t('msg.citation', { n: s.n, title: s.title }),
    );
  });
  protected readonly streaming = computed(() => this.message().status === 'streaming');
  protected readonly canRetry = computed(() => {
    const { status } = this.message();
    return this.last() && !this.busy() && (status === 'error' || status === 'stopped');
  });
  protected readonly duration = computed(() => {
    const ms = this.message().timings?.total_ms;
    if (ms == null) return null;
    return ms < 1000
      ? this.i18n.t('msg.durationMs', { ms: Math.round(ms) })
      : this.i18n.t('msg.duration', { seconds: this.i18n.number(ms / 1000) });
  });

  protected async rate(rating: Rating): Promise<void> {
    if (await this.send({ rating })) this.commenting.set(true);
  }

  protected async sendComment(comment: string): Promise<void> {
    if (await this.send({ comment })) this.commenting.set(false);
  }

  private async send(change: { rating?: Rating; comment?: string }): Promise<boolean> {
    const error = await this.feedback.update(this.message(), change);
    this.feedbackError.set(error);
    this.feedbackStatus.set(error ? '' : this.i18n.t('feedback.thanks'));
    return !error;
  }

  protected async copy(): Promise<void> {
    const ok = await copyText(this.message().content);
    this.copyState.set(ok ? 'copied' : 'failed');
    clearTimeout(this.copyTimer);
    this.copyTimer = setTimeout(() => this.copyState.set('idle'), 2000);
  }
}
