import { TestBed } from '@angular/core/testing';
import { OidcSecurityService } from 'angular-auth-oidc-client';
import { Observable, of, throwError } from 'rxjs';
import { jsonResponse } from '../../testing/fixtures';
import { ApiService } from './api.service';
import { AuthConfig, Me } from './auth.models';
import { AuthService, oidcClientConfig } from './auth.service';

const OIDC: AuthConfig = {
  mode: 'oidc',
  issuer: 'https://sso.example.com/realms/acme',
  client_id: 'chat',
  scopes: 'openid profile email offline_access',
  audience: 'confluence-rag',
};
const ALICE: Me = {
  authenticated: true,
  user: 'alice',
  display_name: 'Alice',
  groups: ['finance'],
  is_admin: false,
};

/** Stands in for the library's browser-redirect service; the real one runs in the e2e test. */
class FakeOidc {
  authenticated = true;
  token = 'access-1';
  renew: () => Observable<{ isAuthenticated: boolean }> = () => of({ isAuthenticated: true });
  checkAuth = vi.fn(() => of({ isAuthenticated: this.authenticated }));
  getAccessToken = vi.fn(() => of(this.token));
  forceRefreshSession = vi.fn(() => this.renew());
  authorize = vi.fn();
  logoff = vi.fn(() => of(null));
  logoffLocal = vi.fn();
}

describe('AuthService', () => {
  let api: ApiService;
  let oidc: FakeOidc;
  let fetchMock: ReturnType<typeof vi.fn>;
  let routes: Record<string, (init: RequestInit) => Response>;

  beforeEach(() => {
    oidc = new FakeOidc();
    TestBed.configureTestingModule({
      providers: [{ provide: OidcSecurityService, useValue: oidc }],
    });
    api = TestBed.inject(ApiService);
    routes = {};
    fetchMock = vi.fn(async (url: string, init: RequestInit) =>
      routes[url] ? routes[url](init) : jsonResponse(404, { detail: 'Not Found' }),
    );
    api.fetchImpl = fetchMock as unknown as typeof fetch;
  });

  const auth = () => TestBed.inject(AuthService);
  const headersOf = (call: number) =>
    fetchMock.mock.calls[call][1].headers as Record<string, string>;

  it('with AUTH_MODE=none: no sign-in, no identity call, no token, the admin panel stays token-guarded', async () => {
    routes['/api/auth/config'] = () => jsonResponse(200, { ...OIDC, mode: 'none' });
    const service = auth();
    await service.init();
    expect(service.state()).toBe('ready');
    expect(service.mode()).toBe('none');
    expect(service.canAdminister()).toBe(true);
    expect(fetchMock.mock.calls.map((c) => c[0])).toEqual(['/api/auth/config']);
    expect(oidc.checkAuth).not.toHaveBeenCalled();
    expect(await service.headers()).toEqual({});
  });

  it('with AUTH_MODE=proxy: shows who the proxy signed in, never redirects', async () => {
    routes['/api/auth/config'] = () => jsonResponse(200, { ...OIDC, mode: 'proxy' });
    routes['/api/auth/me'] = () => jsonResponse(200, ALICE);
    const service = auth();
    await service.init();
    expect(service.state()).toBe('ready');
    expect(service.displayName()).toBe('Alice');
    expect(service.canAdminister()).toBe(false);
    expect(oidc.checkAuth).not.toHaveBeenCalled();
    expect(headersOf(1)['Authorization']).toBeUndefined();
  });

  it('with AUTH_MODE=oidc and nobody signed in: asks to sign in and calls nothing else', async () => {
    routes['/api/auth/config'] = () => jsonResponse(200, OIDC);
    oidc.authenticated = false;
    const service = auth();
    await service.init();
    expect(service.state()).toBe('signed-out');
    expect(fetchMock).toHaveBeenCalledTimes(1);
    service.signIn();
    expect(oidc.authorize).toHaveBeenCalled();
  });

  it('with AUTH_MODE=oidc and a session: every /api call carries the bearer token', async () => {
    routes['/api/auth/config'] = () => jsonResponse(200, OIDC);
    routes['/api/auth/me'] = () => jsonResponse(200, { ...ALICE, is_admin: true });
    routes['/api/spaces'] = () => jsonResponse(200, { spaces: [] });
    routes['/api/ingest/jobs'] = () => jsonResponse(200, { jobs: [] });
    const service = auth();
    await service.init();
    expect(service.state()).toBe('ready');
    expect(service.canAdminister()).toBe(true);
    expect(headersOf(0)['Authorization']).toBeUndefined(); // the public config call
    expect(headersOf(1)['Authorization']).toBe('Bearer access-1');
    await api.spaces();
    expect(headersOf(2)['Authorization']).toBe('Bearer access-1');
    await api.listJobs('typed-admin-token'); // an explicit admin token wins
    expect(headersOf(3)['Authorization']).toBe('Bearer typed-admin-token');
  });

  it('renews an expired token once on a 401 and retries the call', async () => {
    routes['/api/auth/config'] = () => jsonResponse(200, OIDC);
    routes['/api/auth/me'] = () => jsonResponse(200, ALICE);
    const service = auth();
    await service.init();
    routes['/api/spaces'] = (init) =>
      (init.headers as Record<string, string>)['Authorization'] === 'Bearer access-2'
        ? jsonResponse(200, { spaces: [{ key: 'RH', pages: 1, chunks: 2 }] })
        : jsonResponse(401, { detail: 'The token has expired; sign in again.' });
    oidc.renew = () => {
      oidc.token = 'access-2';
      return of({ isAuthenticated: true });
    };
    expect(await api.spaces()).toEqual([{ key: 'RH', pages: 1, chunks: 2 }]);
    expect(oidc.forceRefreshSession).toHaveBeenCalledTimes(1);
    expect(service.state()).toBe('ready');
  });

  it('when renewal fails: a clean re-login (state expired), not a broken page or a retry loop', async () => {
    routes['/api/auth/config'] = () => jsonResponse(200, OIDC);
    routes['/api/auth/me'] = () => jsonResponse(200, ALICE);
    const service = auth();
    await service.init();
    routes['/api/spaces'] = () =>
      jsonResponse(401, { detail: 'The token has expired; sign in again.' });
    oidc.renew = () => throwError(() => new Error('refresh token revoked'));
    await expect(api.spaces()).rejects.toMatchObject({ status: 401 });
    expect(oidc.forceRefreshSession).toHaveBeenCalledTimes(1);
    expect(service.state()).toBe('expired');
  });

  it('signs out at the identity provider and forgets the identity', async () => {
    routes['/api/auth/config'] = () => jsonResponse(200, OIDC);
    routes['/api/auth/me'] = () => jsonResponse(200, ALICE);
    const service = auth();
    await service.init();
    service.signOut();
    expect(oidc.logoff).toHaveBeenCalled();
    expect(service.me()).toBeNull();
    expect(service.state()).toBe('signed-out');
  });

  it('reports an unreadable sign-in configuration instead of guessing', async () => {
    routes['/api/auth/config'] = () => jsonResponse(503, { detail: 'down' });
    const service = auth();
    await service.init();
    expect(service.state()).toBe('error');
  });
});

describe('oidcClientConfig', () => {
  it('signs in with code + PKCE back to this origin, renewing with refresh tokens when offline_access is asked', () => {
    const config = oidcClientConfig(OIDC, 'https://chat.example.com');
    expect(config).toMatchObject({
      authority: OIDC.issuer,
      clientId: 'chat',
      responseType: 'code',
      redirectUrl: 'https://chat.example.com/',
      postLogoutRedirectUri: 'https://chat.example.com/',
      scope: 'openid profile email offline_access',
      useRefreshToken: true,
      silentRenew: true,
      autoUserInfo: false,
    });
    const noRefresh = oidcClientConfig(
      { ...OIDC, scopes: 'openid profile' },
      'https://chat.example.com',
    );
    expect(noRefresh.useRefreshToken).toBe(false);
    expect(noRefresh.silentRenew).toBe(false);
  });
});
