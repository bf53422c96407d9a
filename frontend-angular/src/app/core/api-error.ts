/**
 * Why a call failed: `http` for a 4xx/5xx answer or an SSE `error` event, `network` when the
 * server could not be reached, `stream` when the answer stream ended before `done`.
 */
export type ApiErrorKind = 'http' | 'network' | 'stream';

/**
 * An API failure the UI can show. `status` is the HTTP status (or the `status` of an SSE
 * `error` event, 0 when unknown). `detail` is what the server said (JSON `detail` or the
 * event's `message`); `null` when it said nothing usable.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string | null,
    readonly kind: ApiErrorKind = 'http',
  ) {
    super(detail ?? `HTTP ${status}`);
    this.name = 'ApiError';
  }
}

/** FastAPI answers `{"detail": "text"}`, or for validation errors `{"detail": [{"msg": ...}]}`. */
export function detailFromBody(body: unknown): string | null {
  if (!body || typeof body !== 'object') return null;
  const detail = (body as { detail?: unknown }).detail;
  if (typeof detail === 'string' && detail.trim()) return detail.trim();
  if (Array.isArray(detail)) {
    const msgs = detail
      .map((d) => {
        if (typeof d === 'string') return d;
        if (d && typeof d === 'object' && typeof (d as { msg?: unknown }).msg === 'string') {
          const loc = (d as { loc?: unknown }).loc;
          const where = Array.isArray(loc) ? loc.filter((p) => p !== 'body').join('.') : '';
          return where ? `${where}: ${(d as { msg: string }).msg}` : (d as { msg: string }).msg;
        }
        return '';
      })
      .filter(Boolean);
    return msgs.length ? msgs.join('; ') : null;
  }
  const message = (body as { message?: unknown }).message;
  if (typeof message === 'string' && message.trim()) return message.trim();
  return null;
}

/** Turns a non-2xx Response into an ApiError, reading a JSON `detail` when there is one. */
export async function errorFromResponse(response: Response): Promise<ApiError> {
  let detail: string | null = null;
  try {
    const text = await response.text();
    try {
      detail = detailFromBody(JSON.parse(text));
    } catch {
      // Not JSON (an nginx HTML error page, for instance): keep no detail.
    }
  } catch {
    // Body unreadable: keep no detail.
  }
  return new ApiError(response.status, detail);
}

export function isAbortError(err: unknown): boolean {
  return (
    (err instanceof DOMException && err.name === 'AbortError') ||
    (err instanceof Error && err.name === 'AbortError')
  );
}
