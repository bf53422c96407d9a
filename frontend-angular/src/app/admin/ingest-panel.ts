import { Component, DestroyRef, InjectionToken, OnInit, computed, inject, signal } from '@angular/core';
import { ApiError } from '../core/api-error';
import { ApiService } from '../core/api.service';
import { AuthService } from '../core/auth.service';
import { ChatService } from '../core/chat.service';
import { I18nService } from '../core/i18n.service';
import { IngestJob } from '../core/models';
import { SpacesStore } from '../core/spaces.store';
import { readStorage, writeStorage } from '../core/storage';
import { AccessExplain } from './access-explain';

export const ADMIN_TOKEN_STORAGE_KEY = 'confluence-rag.adminToken';
/** How often a running job is polled (GET /api/ingest/jobs/{id}). */
export const INGEST_POLL_INTERVAL_MS = new InjectionToken<number>('INGEST_POLL_INTERVAL_MS', {
  factory: () => 1000,
});

/** Starts a space synchronisation and follows it (polling every second); lists recent jobs. */
@Component({
  selector: 'app-ingest-panel',
  imports: [AccessExplain],
  templateUrl: './ingest-panel.html',
  styleUrl: './ingest-panel.css',
})
export class IngestPanel implements OnInit {
  protected readonly i18n = inject(I18nService);
  private readonly api = inject(ApiService);
  private readonly chat = inject(ChatService);
  protected readonly spaces = inject(SpacesStore);
  private readonly pollInterval = inject(INGEST_POLL_INTERVAL_MS);

  private readonly auth = inject(AuthService);
  /** Signed-in operators (ADMIN_GROUPS) use their own token; without sign-in, ADMIN_TOKEN is typed here. */
  protected readonly needsToken = computed(() => !this.auth.me()?.is_admin);
  protected readonly token = signal(readStorage(sessionStorage, ADMIN_TOKEN_STORAGE_KEY) ?? '');
  protected readonly spaceKey = signal('');
  protected readonly full = signal(false);
  protected readonly job = signal<IngestJob | null>(null);
  protected readonly jobs = signal<IngestJob[]>([]);
  protected readonly error = signal<string | null>(null);
  protected readonly starting = signal(false);

  protected readonly running = computed(() => {
    const status = this.job()?.status;
    return status === 'queued' || status === 'running';
  });
  protected readonly canStart = computed(
    () => (!this.needsToken() || !!this.token().trim()) && !!this.spaceKey().trim() && !this.starting() && !this.running(),
  );

  private timer: ReturnType<typeof setTimeout> | undefined;
  private destroyed = false;

  constructor() {
    inject(DestroyRef).onDestroy(() => {
      this.destroyed = true;
      clearTimeout(this.timer);
    });
  }

  ngOnInit(): void {
    if (this.token() || !this.needsToken()) void this.refreshJobs();
  }

  protected setToken(value: string): void {
    this.token.set(value);
    writeStorage(sessionStorage, ADMIN_TOKEN_STORAGE_KEY, value || null);
  }

  async start(): Promise<void> {
    if (!this.canStart()) return;
    this.starting.set(true);
    this.error.set(null);
    try {
      const job = await this.api.startJob(this.token().trim(), this.spaceKey().trim(), this.full());
      this.job.set(job);
      this.schedulePoll(job.id);
    } catch (err) {
      this.error.set(this.chat.describe(err));
    } finally {
      this.starting.set(false);
    }
  }

  async refreshJobs(): Promise<void> {
    if (!this.token().trim() && this.needsToken()) return;
    try {
      this.jobs.set(await this.api.listJobs(this.token().trim()));
      this.error.set(null);
    } catch (err) {
      this.error.set(this.chat.describe(err));
    }
  }

  private schedulePoll(id: string): void {
    clearTimeout(this.timer);
    if (this.destroyed) return;
    this.timer = setTimeout(() => void this.poll(id), this.pollInterval);
  }

  private async poll(id: string): Promise<void> {
    try {
      const job = await this.api.getJob(this.token().trim(), id);
      this.job.set(job);
      this.error.set(null);
      if (job.status === 'queued' || job.status === 'running') {
        this.schedulePoll(id);
      } else {
        void this.refreshJobs();
        void this.spaces.load(); // a new space may now be searchable
      }
    } catch (err) {
      this.error.set(this.chat.describe(err));
      // A 4xx (bad token, unknown job) will not fix itself; anything else may be transient.
      const clientError = err instanceof ApiError && err.status >= 400 && err.status < 500;
      if (!clientError) this.schedulePoll(id);
    }
  }

  protected percent(job: IngestJob): number | null {
    if (!job.pages_total) return job.status === 'succeeded' ? 100 : null;
    return Math.min(100, Math.round((job.pages_done / job.pages_total) * 100));
  }

  protected statusLabel(job: IngestJob): string {
    return this.i18n.t(`admin.status.${job.status}`);
  }
}
