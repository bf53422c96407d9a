import { Injectable } from '@angular/core';
import { ApiError, detailFromBody, errorFromResponse, isAbortError } from './api-error';
import { AuthConfig, FetchInterceptor, Me } from './auth.models';
import {
  AccessExplanation,
  Analytics,
  ChatEvent,
  ChatRequest,
  ConversationDetail,
  ConversationSummary,
  FeedbackBody,
  IngestJob,
  SpaceInfo,
} from './models';
import { SseParser } from './sse';

/**
 * The query API over `fetch`, with relative URLs so the app works behind nginx or served
 * by the API itself. Every failure becomes an ApiError; an abort is rethrown as is.
 */
@Injectable({ providedIn: 'root' })
export class ApiService {
  /** Overridable in tests. */
  fetchImpl: typeof fetch = (...args) => fetch(...args);
  /** Adds the signed-in user's bearer token and renews it on a 401 (set by AuthService). */
  interceptor: FetchInterceptor | null = null;

  /** Public: how to sign in. */
  authConfig(): Promise<AuthConfig> {
    return this.json<AuthConfig>('/api/auth/config');
  }

  me(): Promise<Me> {
    return this.json<Me>('/api/auth/me');
  }

  async spaces(): Promise<SpaceInfo[]> {
    const body = await this.json<{ spaces: SpaceInfo[] }>('/api/spaces');
    return body.spaces ?? [];
  }

  async listJobs(token: string): Promise<IngestJob[]> {
    const body = await this.json<{ jobs: IngestJob[] }>('/api/ingest/jobs', {
      headers: authHeaders(token),
    });
    return body.jobs ?? [];
  }

  startJob(token: string, spaceKey: string, full = false): Promise<IngestJob> {
    return this.json<IngestJob>('/api/ingest/jobs', {
      method: 'POST',
      headers: { ...authHeaders(token), 'Content-Type': 'application/json' },
      body: JSON.stringify({ space_key: spaceKey, full }),
    });
  }

  getJob(token: string, id: string): Promise<IngestJob> {
    return this.json<IngestJob>(`/api/ingest/jobs/${encodeURIComponent(id)}`, {
      headers: authHeaders(token),
    });
  }

  /** Operators: why `user` (empty: anonymous) can or cannot read `pageId`. */
  explainAccess(token: string, pageId: string, user: string): Promise<AccessExplanation> {
    const query = new URLSearchParams({ page_id: pageId, ...(user ? { user } : {}) });
    return this.json<AccessExplanation>(`/api/access/explain?${query}`, { headers: authHeaders(token) });
  }

  async listConversations(): Promise<ConversationSummary[]> {
    const body = await this.json<{ conversations: ConversationSummary[] }>('/api/conversations');
    return body.conversations ?? [];
  }

  getConversation(id: string): Promise<ConversationDetail> {
    return this.json<ConversationDetail>(conversationUrl(id));
  }

  async renameConversation(id: string, title: string): Promise<void> {
    await this.send(conversationUrl(id), {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ title }),
    });
  }

  async deleteConversation(id: string): Promise<void> {
    await this.send(conversationUrl(id), { method: 'DELETE' });
  }

  /** Deletes all of the caller's conversations. */
  async deleteAllConversations(): Promise<void> {
    await this.send('/api/conversations', { method: 'DELETE' });
  }

  async sendFeedback(feedback: FeedbackBody): Promise<void> {
    await this.send('/api/feedback', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(feedback),
    });
  }

  /** Usage over [start, end) (ISO date-times), for operators (their own token, or ADMIN_TOKEN). */
  analytics(token: string, start: string, end: string): Promise<Analytics> {
    return this.json<Analytics>(`/api/admin/analytics?${periodQuery(start, end)}`, { headers: authHeaders(token) });
  }

  /** The same period as CSV, one row per answered question. */
  async analyticsCsv(token: string, start: string, end: string): Promise<Blob> {
    const response = await this.send(`/api/admin/analytics.csv?${periodQuery(start, end)}`, {
      headers: { ...authHeaders(token), Accept: 'text/csv' },
    });
    return response.blob();
  }

  /**
   * POST /api/chat and yield its SSE events as they arrive. EventSource cannot POST, so the
   * body is read with a stream reader. Pass an AbortSignal to stop; the abort error propagates.
   * A stream that ends without `done` or `error` yields a synthetic error event.
   */
  async *chat(request: ChatRequest, signal?: AbortSignal): AsyncGenerator<ChatEvent> {
    const response = await this.send('/api/chat', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream' },
      body: JSON.stringify(request),
      signal,
    });
    if (!response.body) throw new ApiError(response.status, null, 'stream');

    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    const parser = new SseParser();
    let finished = false;
    try {
      while (true) {
        const { done, value } = await reader.read();
        const text = done ? decoder.decode() : decoder.decode(value, { stream: true });
        const events = [...parser.feed(text), ...(done ? parser.flush() : [])];
        for (const raw of events) {
          const event = toChatEvent(raw.event, raw.data);
          if (!event) continue;
          if (event.type === 'done' || event.type === 'error') finished = true;
          yield event;
          if (finished) return;
        }
        if (done) break;
      }
    } finally {
      // Closes the connection when we stop reading early (error event, abort); no-op at the end.
      reader.cancel().catch(() => undefined);
    }
    if (!finished) throw new ApiError(response.status, null, 'stream');
  }

  private async json<T>(url: string, init: RequestInit = {}): Promise<T> {
    const response = await this.send(url, {
      ...init,
      headers: { Accept: 'application/json', ...(init.headers as Record<string, string>) },
    });
    try {
      return (await response.json()) as T;
    } catch {
      throw new ApiError(response.status, null);
    }
  }

  private async send(url: string, init: RequestInit, retried = false): Promise<Response> {
    const intercept = this.interceptor && url !== '/api/auth/config' ? this.interceptor : null;
    // An explicit Authorization (the admin token) wins over the signed-in user's token.
    const headers = { ...(intercept ? await intercept.headers(url) : {}), ...(init.headers as Record<string, string>) };
    let response: Response;
    try {
      response = await this.fetchImpl(url, { ...init, headers });
    } catch (err) {
      if (isAbortError(err)) throw err;
      throw new ApiError(0, null, 'network');
    }
    if (response.status === 401 && intercept && !retried && (await intercept.unauthorized(url))) {
      return this.send(url, init, true);
    }
    if (!response.ok) throw await errorFromResponse(response);
    return response;
  }
}

function periodQuery(start: string, end: string): string {
  return new URLSearchParams({ start, end }).toString();
}

function conversationUrl(id: string): string {
  return `/api/conversations/${encodeURIComponent(id)}`;
}

function authHeaders(token: string): Record<string, string> {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** Decodes one SSE event of the chat stream; unknown event types are ignored (null). */
export function toChatEvent(type: string, data: string): ChatEvent | null {
  let payload: Record<string, unknown>;
  try {
    payload = JSON.parse(data) as Record<string, unknown>;
  } catch {
    if (type === 'error') return { type: 'error', status: 0, message: data };
    return null;
  }
  switch (type) {
    case 'sources':
      return {
        type: 'sources',
        sources: Array.isArray(payload['sources']) ? (payload['sources'] as never) : [],
        mode: payload['mode'] === 'extractive' ? 'extractive' : 'llm',
        query: typeof payload['query'] === 'string' ? payload['query'] : '',
      };
    case 'token':
      return { type: 'token', text: typeof payload['text'] === 'string' ? payload['text'] : '' };
    case 'done':
      return {
        type: 'done',
        mode: payload['mode'] === 'extractive' ? 'extractive' : 'llm',
        answer_found: payload['answer_found'] !== false,
        timings: (payload['timings'] as never) ?? undefined,
        conversation_id: stringOrNull(payload['conversation_id']),
        message_id: stringOrNull(payload['message_id']),
      };
    case 'error':
      return {
        type: 'error',
        status: typeof payload['status'] === 'number' ? payload['status'] : 0,
        message: detailFromBody(payload) ?? '',
      };
    default:
      return null;
  }
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' && value ? value : null;
}
