import { ApiService } from '../app/core/api.service';
import { AuthService } from '../app/core/auth.service';
import { Analytics, ConversationDetail, FeedbackBody } from '../app/core/models';
import { jsonResponse } from './fixtures';

/**
 * The history routes of the query API, in memory, behind ApiService's fetch: list, read, rename
 * and delete conversations, POST /api/feedback, and the operators' analytics (JSON and CSV).
 * `failWith(status)` makes every call fail.
 */
export class FakeHistoryServer {
  readonly conversations = new Map<string, ConversationDetail>();
  readonly feedback: FeedbackBody[] = [];
  readonly calls: string[] = [];
  /** The Authorization header of each call. */
  readonly authorizations: (string | null)[] = [];
  analytics: Analytics | null = null;
  private failure: number | null = null;

  add(detail: ConversationDetail): void {
    this.conversations.set(detail.id, detail);
  }

  failWith(status: number | null): void {
    this.failure = status;
  }

  install(api: ApiService): void {
    api.fetchImpl = (async (url: RequestInfo | URL, init?: RequestInit) =>
      this.handle(String(url), init ?? {})) as typeof fetch;
  }

  private handle(url: string, init: RequestInit): Response {
    const method = init.method ?? 'GET';
    this.calls.push(`${method} ${url}`);
    this.authorizations.push(new Headers(init.headers).get('Authorization'));
    if (this.failure) return jsonResponse(this.failure, { detail: 'Historique indisponible' });
    if (url.startsWith('/api/admin/analytics.csv?')) {
      return new Response('created_at,question\n', { status: 200, headers: { 'Content-Type': 'text/csv' } });
    }
    if (url.startsWith('/api/admin/analytics?') && this.analytics) return jsonResponse(200, this.analytics);
    const id = decodeURIComponent(url.match(/^\/api\/conversations\/(.+)$/)?.[1] ?? '');
    const body = init.body ? JSON.parse(String(init.body)) : null;
    if (url === '/api/conversations' && method === 'GET') {
      const list = [...this.conversations.values()].map(({ id, title, updated_at }) => ({ id, title, updated_at }));
      return jsonResponse(200, { conversations: list });
    }
    if (url === '/api/conversations' && method === 'DELETE') {
      const deleted = this.conversations.size;
      this.conversations.clear();
      return jsonResponse(200, { deleted });
    }
    if (url === '/api/feedback' && method === 'POST') {
      this.feedback.push(body);
      return new Response(null, { status: 204 });
    }
    const conversation = this.conversations.get(id);
    if (!conversation) return jsonResponse(404, { detail: 'Conversation introuvable' });
    if (method === 'GET') return jsonResponse(200, conversation);
    if (method === 'PATCH') {
      conversation.title = body.title;
      return jsonResponse(200, { id, title: body.title, updated_at: conversation.updated_at });
    }
    if (method === 'DELETE') {
      this.conversations.delete(id);
      return new Response(null, { status: 204 });
    }
    return jsonResponse(405, { detail: 'Method Not Allowed' });
  }
}

/** Makes AuthService report a signed-in deployment (server-side history). */
export function signedIn(auth: AuthService): void {
  auth.config.set({ mode: 'proxy', issuer: '', client_id: '', scopes: '', audience: '', history: true });
  auth.me.set({ authenticated: true, user: 'alice', display_name: 'Alice', groups: [], is_admin: false });
}
