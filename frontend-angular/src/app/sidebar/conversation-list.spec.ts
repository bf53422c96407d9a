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
});
