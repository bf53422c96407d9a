import { Component, DestroyRef, InjectionToken, OnInit, computed, inject, signal } from '@angular/core';
import { AdminTokenStore } from '../core/admin-token.store';
import { ApiError } from '../core/api-error';
import { ApiService } from '../core/api.service';
import { ChatService } from '../core/chat.service';
import { ADMIN_DICTIONARIES } from '../core/i18n.admin';
import { I18nService } from '../core/i18n.service';
import { IngestJob } from '../core/models';
import { SpacesStore } from '../core/spaces.store';
import { AccessExplain } from './access-explain';

/** How often a running job is polled (GET /api/ingest/jobs/{id}). */
export const INGEST_POLL_INTERVAL_MS = new InjectionToken<number>('INGEST_POLL_INTERVAL_MS', {
  factory: () => 1000,
});

/** Starts a space synchronisation and follows it (polling every second); lists recent jobs. */
@Component({
  selector: 'app-ingest-panel',
  imports: [AccessExplain],
  templateUrl: './ingest-panel.html',
  styleUrls: ['./panel.css', './ingest-panel.css'],
})
export class IngestPanel implements OnInit {
  protected readonly i18n = inject(I18nService);
  private readonly api = inject(ApiService);
  private readonly chat = inject(ChatService);
  protected readonly spaces = inject(SpacesStore);
  private readonly pollInterval = inject(INGEST_POLL_INTERVAL_MS);
  protected readonly admin = inject(AdminTokenStore);
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
    () => this.admin.ready() && !!this.spaceKey().trim() && !this.starting() && !this.running(),
  );

  private timer: ReturnType<typeof setTimeout> | undefined;
  private destroyed = false;

  constructor() {
    this.i18n.extend(ADMIN_DICTIONARIES);
    inject(DestroyRef).onDestroy(() => {
      this.destroyed = true;
      clearTimeout(this.timer);
    });
  }

  ngOnInit(): void {
    void this.refreshJobs();
  }

  async start(): Promise<void> {
    if (!this.canStart()) return;
    this.starting.set(true);
    this.error.set(null);
    try {
      const job = await this.api.startJob(this.admin.token(), this.spaceKey().trim(), this.full());
      this.job.set(job);
      this.schedulePoll(job.id);
    } catch (err) {
      this.error.set(this.chat.describe(err));
    } finally {
      this.starting.set(false);
    }
  }

  async refreshJobs(): Promise<void> {
    if (!this.admin.ready()) return;
    try {
      this.jobs.set(await this.api.listJobs(this.admin.token()));
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
      const job = await this.api.getJob(this.admin.token(), id);
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
