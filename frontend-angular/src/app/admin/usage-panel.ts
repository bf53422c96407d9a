import { Component, OnInit, computed, inject, signal } from '@angular/core';
import { AdminTokenStore } from '../core/admin-token.store';
import { ApiService } from '../core/api.service';
import { ChatService } from '../core/chat.service';
import { ADMIN_DICTIONARIES, AdminI18nKey } from '../core/i18n.admin';
import { I18nService } from '../core/i18n.service';
import { isLinkableUrl } from '../core/markdown';
import { Analytics, Percentiles } from '../core/models';

/** The default period: the last 30 days, today included. */
const DEFAULT_DAYS = 30;

/**
 * Operators' view of how the service is used over a chosen period: questions answered with no
 * source or thumbed down, most and never cited pages, usage per space, latency percentiles, and
 * the same period as a CSV file.
 */
@Component({
  selector: 'app-usage-panel',
  templateUrl: './usage-panel.html',
  styleUrls: ['./panel.css', './usage-panel.css'],
})
export class UsagePanel implements OnInit {
  protected readonly i18n = inject(I18nService);
  protected readonly admin = inject(AdminTokenStore);
  private readonly api = inject(ApiService);
  private readonly chat = inject(ChatService);
  protected readonly isLinkableUrl = isLinkableUrl;

  /** The period as the date inputs hold it (local days, both included). */
  protected readonly from = signal(localDay(-(DEFAULT_DAYS - 1)));
  protected readonly to = signal(localDay(0));
  protected readonly report = signal<Analytics | null>(null);
  protected readonly error = signal<string | null>(null);
  protected readonly loading = signal(false);
  /** Announced to screen readers when a report arrives (not the whole tables). */
  protected readonly status = computed(() => {
    const report = this.report();
    return report ? this.i18n.t('usage.loaded', { count: report.questions }) : '';
  });

  constructor() {
    this.i18n.extend(ADMIN_DICTIONARIES);
  }

  ngOnInit(): void {
    void this.load();
  }

  async load(): Promise<void> {
    const period = this.period();
    if (!period) return;
    this.loading.set(true);
    try {
      this.report.set(await this.api.analytics(this.admin.token(), period.start, period.end));
      this.error.set(null);
    } catch (err) {
      this.error.set(this.chat.describe(err));
    } finally {
      this.loading.set(false);
    }
  }

  /** Downloads the period's CSV (fetched with the operator's credentials, which a plain link lacks). */
  async exportCsv(): Promise<void> {
    const period = this.period();
    if (!period) return;
    try {
      const csv = await this.api.analyticsCsv(this.admin.token(), period.start, period.end);
      const url = URL.createObjectURL(csv);
      const link = document.createElement('a');
      link.href = url;
      link.download = `usage-${this.from()}-${this.to()}.csv`;
      link.click();
      URL.revokeObjectURL(url);
      this.error.set(null);
    } catch (err) {
      this.error.set(this.chat.describe(err));
    }
  }

  protected ms(value: number | null): string {
    return value == null ? '–' : `${this.i18n.number(value, 0)} ms`;
  }

  protected readonly latency = computed((): { label: AdminI18nKey; values: Percentiles }[] => {
    const latency = this.report()?.latency_ms;
    if (!latency) return [];
    return [
      { label: 'usage.latencyTotal', values: latency.total },
      { label: 'usage.latencyFirstToken', values: latency.first_token },
      { label: 'usage.latencyRetrieve', values: latency.retrieve },
    ];
  });

  /** [start, end) as the API wants it: from the first day's local midnight to the day after the last. */
  private period(): { start: string; end: string } | null {
    if (!this.admin.ready()) return null;
    const start = new Date(`${this.from()}T00:00:00`);
    const end = new Date(`${this.to()}T00:00:00`);
    if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime()) || start > end) {
      this.error.set(this.i18n.t('usage.badPeriod'));
      return null;
    }
    end.setDate(end.getDate() + 1);
    return { start: start.toISOString(), end: end.toISOString() };
  }
}

/** YYYY-MM-DD of today plus `days`, in local time (what `<input type="date">` holds). */
function localDay(days: number): string {
  const d = new Date();
  d.setDate(d.getDate() + days);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}
