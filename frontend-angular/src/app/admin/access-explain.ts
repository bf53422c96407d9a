import { Component, computed, inject, input, signal } from '@angular/core';
import { ApiService } from '../core/api.service';
import { ChatService } from '../core/chat.service';
import { ADMIN_DICTIONARIES } from '../core/i18n.admin';
import { I18nService } from '../core/i18n.service';
import { AccessExplanation } from '../core/models';

type Layer = AccessExplanation['layers'][number];

/** Operators: "why can (or can't) user X read page Y" (GET /api/access/explain). */
@Component({
  selector: 'app-access-explain',
  templateUrl: './access-explain.html',
  styleUrls: ['./panel.css', './access-explain.css'],
})
export class AccessExplain {
  protected readonly i18n = inject(I18nService);
  private readonly api = inject(ApiService);
  private readonly chat = inject(ChatService);

  /** The admin token typed in the ingestion panel (empty for a signed-in operator). */
  readonly token = input('');
  protected readonly user = signal('');
  protected readonly pageId = signal('');
  protected readonly result = signal<AccessExplanation | null>(null);
  protected readonly error = signal<string | null>(null);
  protected readonly loading = signal(false);
  protected readonly canAsk = computed(() => !!this.pageId().trim() && !this.loading());

  constructor() {
    this.i18n.extend(ADMIN_DICTIONARIES); // its strings load with the admin panel
  }

  async explain(): Promise<void> {
    if (!this.canAsk()) return;
    this.loading.set(true);
    this.error.set(null);
    try {
      this.result.set(await this.api.explainAccess(this.token().trim(), this.pageId().trim(), this.user().trim()));
    } catch (err) {
      this.result.set(null);
      this.error.set(this.chat.describe(err));
    } finally {
      this.loading.set(false);
    }
  }

  protected readAt(iso: string | null | undefined): string {
    return iso ? this.i18n.t('access.readAt', { when: this.i18n.dateTime(iso) }) : this.i18n.t('access.neverRead');
  }

  /** Why, in the page's language, in the order the rule applies (the API's own `reasons` are English). */
  protected reasons(r: AccessExplanation): string[] {
    const t = this.i18n.t.bind(this.i18n);
    const out: string[] = [];
    if (!r.space.known) out.push(t('access.why.noSpace', { space: r.space_key }));
    else if (!r.space.grants) out.push(t('access.why.space', { space: r.space_key }));
    for (const layer of r.layers) {
      const content = layer.title || layer.content_id || '?';
      if (layer.unreadable) out.push(t('access.why.unreadable', { content }));
      else if (!layer.passes) out.push(t('access.why.layer', { content }));
    }
    if (r.can_read) out.push(t('access.why.allowed'));
    return out.length ? out : r.reasons;
  }

  protected layerResult(layer: Layer): string {
    if (layer.unreadable) return this.i18n.t('access.unreadable');
    if (!layer.restricted) return this.i18n.t('access.none');
    return this.i18n.t(layer.passes ? 'access.passes' : 'access.fails');
  }
}
