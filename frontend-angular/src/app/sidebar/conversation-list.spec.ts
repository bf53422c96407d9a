import { ComponentFixture, TestBed } from '@angular/core/testing';
import { ConversationStore } from '../core/conversation.store';
import { ConversationList } from './conversation-list';

describe('ConversationList', () => {
  let fixture: ComponentFixture<ConversationList>;
  let el: HTMLElement;
  let store: ConversationStore;

  const all = (testId: string) => [...el.querySelectorAll<HTMLElement>(`[data-testid="${testId}"]`)];

  beforeEach(async () => {
    localStorage.clear();
    store = TestBed.inject(ConversationStore);
    store.ensureActive('Congés payés');
    store.startNew();
    await new Promise((r) => setTimeout(r, 2));
    store.ensureActive('Notes de frais');
    fixture = TestBed.createComponent(ConversationList);
    el = fixture.nativeElement;
    await fixture.whenStable();
  });

  it('lists past conversations, newest first, marking the active one', () => {
    const items = all('conversation-item');
    expect(items.map((i) => i.querySelector('.title')?.textContent)).toEqual(['Notes de frais', 'Congés payés']);
    expect(items[0].getAttribute('aria-current')).toBe('true');
    expect(items[1].hasAttribute('aria-current')).toBe(false);
  });

  it('selects a conversation on click and emits picked', async () => {
    const picked = vi.fn();
    fixture.componentInstance.picked.subscribe(picked);
    all('conversation-item')[1].click();
    await fixture.whenStable();
    expect(store.active()?.title).toBe('Congés payés');
    expect(picked).toHaveBeenCalled();
  });

  it('starts a new conversation', async () => {
    (el.querySelector('[data-testid="new-conversation"]') as HTMLButtonElement).click();
    await fixture.whenStable();
    expect(store.active()).toBeNull();
    expect(all('conversation-item').some((i) => i.getAttribute('aria-current') === 'true')).toBe(false);
  });

  it('deletes a conversation with a labelled button', async () => {
    const button = all('delete-conversation')[1];
    expect(button.getAttribute('aria-label')).toBe('Supprimer « Congés payés »');
    button.click();
    await fixture.whenStable();
    expect(all('conversation-item').map((i) => i.querySelector('.title')?.textContent)).toEqual(['Notes de frais']);
    expect(store.conversations()).toHaveLength(1);
  });

  it('renames a conversation from a labelled field, Enter saves and focus comes back', async () => {
    const rename = all('rename-conversation')[1];
    expect(rename.getAttribute('aria-label')).toBe('Renommer « Congés payés »');
    rename.click();
    await fixture.whenStable();
    await new Promise((r) => setTimeout(r, 0));
    const input = el.querySelector<HTMLInputElement>('[data-testid="rename-input"]')!;
    expect(document.activeElement).toBe(input);
    expect(el.querySelector(`label[for="${input.id}"]`)?.textContent).toBe('Nouveau titre');
    input.value = 'Congés 2027';
    el.querySelector<HTMLButtonElement>('[data-testid="rename-save"]')!.click();
    await new Promise((r) => setTimeout(r, 0));
    await fixture.whenStable();
    expect(all('conversation-item').map((i) => i.querySelector('.title')?.textContent)).toContain('Congés 2027');
    await new Promise((r) => setTimeout(r, 0));
    expect(document.activeElement?.textContent).toContain('Congés 2027');
  });

  it('Escape leaves the title as it was', async () => {
    all('rename-conversation')[0].click();
    await fixture.whenStable();
    const input = el.querySelector<HTMLInputElement>('[data-testid="rename-input"]')!;
    input.value = 'Autre';
    input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape' }));
    await fixture.whenStable();
    expect(el.querySelector('[data-testid="rename-input"]')).toBeNull();
    expect(store.conversations()[0].title).toBe('Notes de frais');
  });

  it('deletes all conversations only after a confirmation', async () => {
    all('delete-all')[0].click();
    await fixture.whenStable();
    all('delete-all-cancel')[0].click();
    await fixture.whenStable();
    expect(store.conversations()).toHaveLength(2);

    all('delete-all')[0].click();
    await fixture.whenStable();
    all('delete-all-confirm')[0].click();
    await new Promise((r) => setTimeout(r, 0));
    await fixture.whenStable();
    expect(store.conversations()).toEqual([]);
    expect(el.textContent).toContain('Aucune conversation enregistrée.');
    await new Promise((r) => setTimeout(r, 0));
    expect(document.activeElement?.getAttribute('data-testid')).toBe('new-conversation');
  });
});
