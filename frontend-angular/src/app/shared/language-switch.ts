import { Component, inject } from '@angular/core';
import { I18nService, LANGS } from '../core/i18n.service';

/** FR / EN toggle buttons; the pressed one is the current language. */
@Component({
  selector: 'app-language-switch',
  template: `
    <div class="segmented" role="group" [attr.aria-label]="i18n.t('lang.label')">
      @for (lang of langs; track lang) {
        <button
          type="button"
          [attr.data-testid]="'lang-' + lang"
          [attr.aria-pressed]="i18n.lang() === lang"
          [attr.lang]="lang"
          (click)="i18n.setLang(lang)"
        >
          {{ lang.toUpperCase() }}
        </button>
      }
    </div>
  `,
})
export class LanguageSwitch {
  protected readonly i18n = inject(I18nService);
  protected readonly langs = LANGS;
}
