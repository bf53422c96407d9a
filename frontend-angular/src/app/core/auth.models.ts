/** GET /api/auth/config: how (and whether) this deployment signs people in. */
export interface AuthConfig {
  mode: 'none' | 'oidc' | 'proxy';
  issuer: string;
  client_id: string;
  scopes: string;
  audience: string;
  /** Signed-in users' conversations are kept on the server (else the page keeps them). */
  history?: boolean;
}

/** GET /api/auth/me: who the API thinks is asking. */
export interface Me {
  authenticated: boolean;
  user: string | null;
  display_name: string;
  groups: string[];
  is_admin: boolean;
}

/**
 * What ApiService asks before and after every /api call: the headers to add (the bearer token),
 * and, on a 401, whether the session could be renewed so the call is worth one retry.
 */
export interface FetchInterceptor {
  headers(url: string): Promise<Record<string, string>>;
  unauthorized(url: string): Promise<boolean>;
}
