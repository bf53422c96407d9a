import { Injectable, Injector, computed, inject, signal } from '@angular/core';
import { LogLevel, OidcSecurityService, OpenIdConfiguration } from 'angular-auth-oidc-client';
import { firstValueFrom, timeout } from 'rxjs';
import { ApiService } from './api.service';
import { AuthConfig, FetchInterceptor, Me } from './auth.models';

/**
 * `ready`: the app can be used (signed in, or no sign-in needed); `signed-out`: oidc mode, nobody
 * signed in yet; `expired`: the session ended and could not be renewed silently; `error`: the
 * sign-in configuration could not be read.
 */
export type AuthState = 'loading' | 'ready' | 'signed-out' | 'expired' | 'error';

const RENEW_TIMEOUT_MS = 10_000;

/** The OpenID Connect client settings for angular-auth-oidc-client, from GET /api/auth/config. */
export function oidcClientConfig(config: AuthConfig, origin: string): OpenIdConfiguration {
  return {
    authority: config.issuer,
    clientId: config.client_id,
    redirectUrl: origin + '/',
    postLogoutRedirectUri: origin + '/',
    scope: config.scopes,
    responseType: 'code', // authorization code + PKCE (S256), done by the library
    useRefreshToken: config.scopes.split(' ').includes('offline_access'),
    silentRenew: config.scopes.split(' ').includes('offline_access'),
    renewTimeBeforeTokenExpiresInSeconds: 30,
    ignoreNonceAfterRefresh: true,
    triggerRefreshWhenIdTokenExpired: false,
    autoUserInfo: false, // who is asking comes from /api/auth/me
    logLevel: LogLevel.Warn,
  };
}

/**
 * Sign-in for the three AUTH_MODEs. none: nothing to do. proxy: the proxy signed the person in;
 * show who, from /api/auth/me. oidc: angular-auth-oidc-client signs in (code + PKCE), renews the
 * token before it expires (refresh token), and this service adds it to every /api call.
 */
@Injectable({ providedIn: 'root' })
export class AuthService implements FetchInterceptor {
  private readonly api = inject(ApiService);
  private readonly injector = inject(Injector);

  readonly config = signal<AuthConfig | null>(null);
  readonly me = signal<Me | null>(null);
  readonly state = signal<AuthState>('ready');
  readonly mode = computed(() => this.config()?.mode ?? 'none');
  /** The ingestion panel: with no sign-in it is guarded by ADMIN_TOKEN; otherwise operators only. */
  readonly canAdminister = computed(() => this.mode() === 'none' || !!this.me()?.is_admin);
  readonly displayName = computed(() => {
    const me = this.me();
    return me?.authenticated ? me.display_name || me.user || '' : '';
  });

  private configPromise: Promise<AuthConfig> | null = null;

  constructor() {
    this.api.interceptor = this;
  }

  /** Before the app starts: read the mode, finish a sign-in redirect, learn who is asking. */
  async init(): Promise<void> {
    this.state.set('loading');
    let config: AuthConfig;
    try {
      config = await this.loadConfig();
    } catch {
      this.state.set('error');
      return;
    }
    if (config.mode === 'none') {
      this.state.set('ready');
      return;
    }
    if (config.mode === 'oidc') {
      let signedIn = false;
      try {
        signedIn = (await firstValueFrom(this.oidc().checkAuth())).isAuthenticated;
      } catch {
        signedIn = false;
      }
      if (!signedIn) {
        this.state.set('signed-out');
        return;
      }
    }
    await this.loadMe();
  }

  /** The config promise angular-auth-oidc-client's loader waits for. */
  loadConfig(): Promise<AuthConfig> {
    this.configPromise ??= this.api.authConfig().then((config) => {
      this.config.set(config);
      return config;
    });
    return this.configPromise;
  }

  async loadMe(): Promise<void> {
    try {
      this.me.set(await this.api.me());
      this.state.set('ready');
    } catch {
      if (this.state() !== 'expired') this.state.set('error');
    }
  }

  signIn(): void {
    this.oidc().authorize();
  }

  signOut(): void {
    this.me.set(null);
    this.state.set('signed-out');
    this.oidc()
      .logoff()
      .subscribe({ error: () => this.oidc().logoffLocal() });
  }

  async headers(): Promise<Record<string, string>> {
    if (this.mode() !== 'oidc' || this.state() === 'signed-out') return {};
    const token = await firstValueFrom(this.oidc().getAccessToken());
    return token ? { Authorization: `Bearer ${token}` } : {};
  }

  /** A 401 in oidc mode: renew once with the refresh token; if that fails, ask to sign in again. */
  async unauthorized(): Promise<boolean> {
    if (this.mode() !== 'oidc') return false;
    try {
      const result = await firstValueFrom(
        this.oidc().forceRefreshSession().pipe(timeout(RENEW_TIMEOUT_MS)),
      );
      if (result?.isAuthenticated) return true;
    } catch {
      // fall through: a clean re-login
    }
    this.state.set('expired');
    return false;
  }

  private oidc(): OidcSecurityService {
    return this.injector.get(OidcSecurityService);
  }
}
