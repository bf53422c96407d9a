import { Component, OnInit, computed, inject, signal } from '@angular/core';
import { IngestPanel } from './admin/ingest-panel';
import { UsagePanel } from './admin/usage-panel';
import { SignInCard } from './auth/sign-in-card';
import { UserBadge } from './auth/user-badge';
import { AuthService } from './core/auth.service';
import { Chat } from './chat/chat';
import { ConversationStore } from './core/conversation.store';
import { HistoryService } from './core/history.service';
import { I18nService } from './core/i18n.service';
import { SpacesStore } from './core/spaces.store';
import { LanguageSwitch } from './shared/language-switch';
import { SpaceFilter } from './shared/space-filter';
import { ConversationList } from './sidebar/conversation-list';
import { SourcesPanel } from './sources/sources-panel';

type View = 'chat' | 'admin';

/** Page shell: top bar, conversation sidebar, chat (or the admin panel: ingestion, usage), sources panel. */
@Component({
  selector: 'app-root',
  imports: [
    Chat,
    ConversationList,
    IngestPanel,
    LanguageSwitch,
    SignInCard,
    SourcesPanel,
    SpaceFilter,
    UsagePanel,
    UserBadge,
  ],
  templateUrl: './app.html',
  styleUrl: './app.css',
  host: { '(document:keydown.escape)': 'closeDrawers()' },
})
export class App implements OnInit {
  protected readonly i18n = inject(I18nService);
  protected readonly auth = inject(AuthService);
  private readonly store = inject(ConversationStore);
  private readonly spaces = inject(SpacesStore);
  private readonly history = inject(HistoryService);

  protected readonly view = signal<View>('chat');
  /** Drawers used at narrow widths (CSS shows both panels inline on wide screens). */
  protected readonly sidebarOpen = signal(false);
  protected readonly sourcesOpen = signal(false);
  /** The answer whose sources are shown; null means the latest answer with sources. */
  private readonly sourcesMessageId = signal<string | null>(null);

  protected readonly sourcesMessage = computed(() => {
    const answers = this.store.messages().filter((m) => m.role === 'assistant');
    const chosen = answers.find((m) => m.id === this.sourcesMessageId());
    return chosen ?? [...answers].reverse().find((m) => m.sources?.length) ?? null;
  });
  protected readonly sources = computed(() => this.sourcesMessage()?.sources ?? []);

  ngOnInit(): void {
    if (this.auth.state() !== 'ready') return;
    void this.spaces.load();
    void this.history.load();
  }

  protected toggleView(): void {
    this.view.update((v) => (v === 'chat' ? 'admin' : 'chat'));
    this.sourcesOpen.set(false);
  }

  protected showSources(messageId: string): void {
    this.sourcesMessageId.set(messageId);
    this.sourcesOpen.set(true);
  }

  /** After picking a conversation (or starting one) on a phone, the drawer closes. */
  protected conversationPicked(): void {
    this.sourcesMessageId.set(null);
    this.sidebarOpen.set(false);
    this.view.set('chat');
  }

  protected closeDrawers(): void {
    this.sidebarOpen.set(false);
    this.sourcesOpen.set(false);
  }
}
