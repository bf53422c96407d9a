import { Component, inject, input, output } from '@angular/core';
import { I18nService } from '../core/i18n.service';
import { isLinkableUrl, plainSnippet } from '../core/markdown';
import { Source } from '../core/models';

/** The passages an answer is based on, numbered like the citations in the answer. */
@Component({
  selector: 'app-sources-panel',
  templateUrl: './sources-panel.html',
  styleUrl: './sources-panel.css',
})
export class SourcesPanel {
  protected readonly i18n = inject(I18nService);
  readonly sources = input<readonly Source[]>([]);
  /** The close button (shown when the panel is a drawer on narrow screens). */
  readonly closed = output<void>();
  protected readonly isLinkableUrl = isLinkableUrl;
  protected readonly plainSnippet = plainSnippet;
}
