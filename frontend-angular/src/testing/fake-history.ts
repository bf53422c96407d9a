import { ApiService } from '../app/core/api.service';
import { AuthService } from '../app/core/auth.service';
import { ConversationDetail, FeedbackBody } from '../app/core/models';
import { jsonResponse } from './fixtures';

/**
 * The history routes of the query API, in memory, behind ApiService's fetch: list, read, rename
 * and delete conversations, and POST /api/feedback. `failWith(status)` makes every call fail.
 */
export class FakeHistoryServer {
  readonly conversations = new Map<string, ConversationDetail>();
  readonly feedback: FeedbackBody[] = [];
  readonly calls: string[] = [];
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
    if (this.failure) return jsonResponse(this.failure, { detail: 'Historique indisponible' });
    const id = decodeURIComponent(url.match(/^\/api\/conversations\/(.+)$/)?.[1] ?? '');
    const body = init.body ? JSON.parse(String(init.body)) : null;
    if (url === '/api/conversations' && method === 'GET') {
      const list = [...this.conversations.values()].map(({ id, title, updated_at }) => ({ id, title, updated_at }));
      return jsonResponse(200, { conversations: list });
    }
    if (url === '/api/conversations' && method === 'DELETE') {
      this.conversations.clear();
      return new Response(null, { status: 204 });
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
      return jsonResponse(200, conversation);
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
  auth.config.set({ mode: 'proxy', issuer: '', client_id: '', scopes: '', audience: '' });
  auth.me.set({ authenticated: true, user: 'alice', display_name: 'Alice', groups: [], is_admin: false });
}
