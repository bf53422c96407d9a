import { Injectable, computed, inject, signal } from '@angular/core';
import { AuthService } from './auth.service';
import { readStorage, writeStorage } from './storage';

export const ADMIN_TOKEN_STORAGE_KEY = 'confluence-rag.adminToken';

/**
 * The operator's credentials for the admin panel: signed-in operators (ADMIN_GROUPS) use their
 * own token; without sign-in, ADMIN_TOKEN is typed once (kept in this tab: sessionStorage) and
 * serves both the ingestion and the usage panels.
 */
@Injectable({ providedIn: 'root' })
export class AdminTokenStore {
  private readonly auth = inject(AuthService);
  private readonly state = signal(readStorage(sessionStorage, ADMIN_TOKEN_STORAGE_KEY) ?? '');

  readonly needsToken = computed(() => !this.auth.me()?.is_admin);
  /** The typed token, trimmed ('' for signed-in operators, whose own token is sent). */
  readonly token = computed(() => (this.needsToken() ? this.state().trim() : ''));
  /** What the input shows. */
  readonly typed = this.state.asReadonly();
  /** Calls can be made: an operator is signed in, or a token was typed. */
  readonly ready = computed(() => !this.needsToken() || !!this.token());

  set(value: string): void {
    this.state.set(value);
    writeStorage(sessionStorage, ADMIN_TOKEN_STORAGE_KEY, value || null);
  }
}
