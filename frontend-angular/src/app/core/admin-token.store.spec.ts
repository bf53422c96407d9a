import { TestBed } from '@angular/core/testing';
import { ADMIN_TOKEN_STORAGE_KEY, AdminTokenStore } from './admin-token.store';
import { AuthService } from './auth.service';

describe('AdminTokenStore', () => {
  beforeEach(() => {
    sessionStorage.clear();
    localStorage.clear();
  });

  it('keeps the typed token in this tab only, trimmed when sent', () => {
    const admin = TestBed.inject(AdminTokenStore);
    expect(admin.ready()).toBe(false);
    admin.set(' s3cret ');
    expect(admin.token()).toBe('s3cret');
    expect(admin.ready()).toBe(true);
    expect(sessionStorage.getItem(ADMIN_TOKEN_STORAGE_KEY)).toBe(' s3cret ');
    expect(localStorage.getItem(ADMIN_TOKEN_STORAGE_KEY)).toBeNull();
    admin.set('');
    expect(sessionStorage.getItem(ADMIN_TOKEN_STORAGE_KEY)).toBeNull();
  });

  it('sends no typed token for a signed-in operator, whose own token is used', () => {
    sessionStorage.setItem(ADMIN_TOKEN_STORAGE_KEY, 'old');
    TestBed.inject(AuthService).me.set({ authenticated: true, user: 'op', display_name: '', groups: [], is_admin: true });
    const admin = TestBed.inject(AdminTokenStore);
    expect(admin.needsToken()).toBe(false);
    expect(admin.ready()).toBe(true);
    expect(admin.token()).toBe('');
  });
});
