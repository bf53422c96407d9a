import { DOCUMENT, Injectable, inject, signal } from '@angular/core';
import type { AdminI18nKey } from './i18n.admin';
import { Dictionary, EN, FR, I18nKey } from './i18n.dictionary';
import { readStorage, writeStorage } from './storage';

export type Lang = 'fr' | 'en';
export const LANGS: readonly Lang[] = ['fr', 'en'];
const DICTIONARIES: Record<Lang, Dictionary> = { fr: FR, en: EN };
export const LANG_STORAGE_KEY = 'confluence-rag.lang';

/**
 * Runtime translations: French by default, English selectable; the choice is kept in
 * localStorage. `t()` reads the `lang` signal, so templates calling it re-render on switch.
 */
@Injectable({ providedIn: 'root' })
export class I18nService {
  private readonly document = inject(DOCUMENT);
  private readonly current = signal<Lang>(initialLang());
  readonly lang = this.current.asReadonly();
  /** Strings of parts of the app loaded later (the admin panel's). */
  private readonly loaded: Record<Lang, Record<string, string>> = { fr: {}, en: {} };

  constructor() {
    this.applyToDocument();
  }

  setLang(lang: Lang): void {
    this.current.set(lang);
    this.applyToDocument();
    writeStorage(localStorage, LANG_STORAGE_KEY, lang);
  }

  /** Adds the strings of a part of the app loaded later. */
  extend(dictionaries: Record<Lang, Record<string, string>>): void {
    for (const lang of LANGS) Object.assign(this.loaded[lang], dictionaries[lang]);
  }

  private applyToDocument(): void {
    this.document.documentElement.lang = this.current();
    this.document.title = this.t('app.title');
  }

  /** Translates `key`, replacing `{name}` placeholders with `params.name`. */
  t(key: I18nKey | AdminI18nKey, params?: Record<string, string | number>): string {
    const lang = this.current();
    const text = (DICTIONARIES[lang] as Record<string, string>)[key] ?? this.loaded[lang][key] ?? key;
    if (!params) return text;
    return text.replace(/\{(\w+)\}/g, (m, name: string) =>
      name in params ? String(params[name]) : m,
    );
  }

  /** Locale-aware number formatting (1 234,5 in French). */
  number(value: number, maximumFractionDigits = 1): string {
    return new Intl.NumberFormat(this.current(), { maximumFractionDigits }).format(value);
  }

  dateTime(iso: string | null | undefined): string {
    if (!iso) return '';
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return iso;
    return new Intl.DateTimeFormat(this.current(), { dateStyle: 'short', timeStyle: 'short' }).format(date);
  }
}

function initialLang(): Lang {
  const stored = readStorage(localStorage, LANG_STORAGE_KEY);
  return stored === 'en' || stored === 'fr' ? stored : 'fr';
}
