import { TestBed } from '@angular/core/testing';
import { ADMIN_DICTIONARIES, ADMIN_EN, ADMIN_FR } from './i18n.admin';
import { EN, FR } from './i18n.dictionary';
import { I18nService, LANG_STORAGE_KEY } from './i18n.service';

describe('I18nService', () => {
  beforeEach(() => localStorage.clear());

  it('speaks French by default and sets <html lang>', () => {
    const i18n = TestBed.inject(I18nService);
    expect(i18n.lang()).toBe('fr');
    expect(i18n.t('chat.send')).toBe('Envoyer');
    expect(document.documentElement.lang).toBe('fr');
  });

  it('switches to English, persists the choice and updates <html lang>', () => {
    const i18n = TestBed.inject(I18nService);
    i18n.setLang('en');
    expect(i18n.t('chat.send')).toBe('Send');
    expect(localStorage.getItem(LANG_STORAGE_KEY)).toBe('en');
    expect(document.documentElement.lang).toBe('en');
    expect(document.title).toBe('Documentation assistant');
  });

  it('restores the stored language on start and ignores an unknown one', () => {
    localStorage.setItem(LANG_STORAGE_KEY, 'en');
    expect(TestBed.inject(I18nService).t('chat.stop')).toBe('Stop');
    TestBed.resetTestingModule();
    localStorage.setItem(LANG_STORAGE_KEY, 'de');
    expect(TestBed.inject(I18nService).lang()).toBe('fr');
  });

  it('fills {placeholders} and leaves unknown ones visible', () => {
    const i18n = TestBed.inject(I18nService);
    i18n.extend(ADMIN_DICTIONARIES);
    expect(i18n.t('admin.progress', { done: 4, total: 12 })).toBe('4 / 12 pages');
    expect(i18n.t('admin.progress', { done: 4 })).toBe('4 / {total} pages');
  });

  it('formats numbers for the current language', () => {
    const i18n = TestBed.inject(I18nService);
    expect(i18n.number(1.25, 1)).toMatch(/^1,[23]$/);
    i18n.setLang('en');
    expect(i18n.number(1.25, 1)).toMatch(/^1\.[23]$/);
  });

  it('has an English text for every French key, and no empty text', () => {
    expect(Object.keys(EN).sort()).toEqual(Object.keys(FR).sort());
    expect(Object.keys(ADMIN_EN).sort()).toEqual(Object.keys(ADMIN_FR).sort());
    const all = [...Object.values(FR), ...Object.values(EN), ...Object.values(ADMIN_FR), ...Object.values(ADMIN_EN)];
    for (const text of all) expect(text.trim()).not.toBe('');
  });

  it('speaks the admin panel’s strings once it added them', () => {
    const i18n = TestBed.inject(I18nService);
    expect(i18n.t('usage.title')).toBe('usage.title');
    i18n.extend(ADMIN_DICTIONARIES);
    expect(i18n.t('usage.title')).toBe('Utilisation');
    i18n.setLang('en');
    expect(i18n.t('usage.title')).toBe('Usage');
  });
});
