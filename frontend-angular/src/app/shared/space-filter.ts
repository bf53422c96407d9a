import { Component, inject } from '@angular/core';
import { I18nService } from '../core/i18n.service';
import { SpacesStore } from '../core/spaces.store';

/** Restricts retrieval to one Confluence space (the spaces come from GET /api/spaces). */
@Component({
  selector: 'app-space-filter',
  template: `
    <div class="field-inline">
      <label for="space-filter">{{ i18n.t('spaces.label') }}</label>
      <select
        id="space-filter"
        data-testid="space-filter"
        [attr.aria-describedby]="store.failed() ? 'space-filter-error' : null"
        (change)="store.selected.set($any($event.target).value)"
      >
        <option value="">{{ i18n.t('spaces.all') }}</option>
        @for (space of store.spaces(); track space.key) {
          <option [value]="space.key" [selected]="space.key === store.selected()">
            {{ space.key }}
          </option>
        }
      </select>
      @if (store.failed()) {
        <span id="space-filter-error" class="field-error" role="status">{{ i18n.t('spaces.error') }}</span>
      }
    </div>
  `,
})
export class SpaceFilter {
  protected readonly i18n = inject(I18nService);
  protected readonly store = inject(SpacesStore);
}
