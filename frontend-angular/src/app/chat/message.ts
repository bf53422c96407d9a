import { Component, computed, inject, input, output, signal } from '@angular/core';
import { I18nService } from '../core/i18n.service';
import { renderMarkdown } from '../core/markdown';
import { ChatMessage } from '../core/models';
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

  readonly message = input.required<ChatMessage>();
  /** The last message of the conversation: only it offers "Retry". */
  readonly last = input(false);
  /** An answer is streaming somewhere: retry is not offered meanwhile. */
  readonly busy = input(false);
  readonly retry = output<void>();
  readonly showSources = output<void>();

  protected readonly copyState = signal<CopyState>('idle');
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

  protected async copy(): Promise<void> {
    const ok = await copyText(this.message().content);
    this.copyState.set(ok ? 'copied' : 'failed');
    clearTimeout(this.copyTimer);
    this.copyTimer = setTimeout(() => this.copyState.set('idle'), 2000);
  }
}
