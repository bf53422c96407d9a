/** Shared helpers for unit tests (not part of the app build). */
import { IngestJob, Source } from '../app/core/models';

export function source(n: number, overrides: Partial<Source> = {}): Source {
  return {
    n,
    chunk_id: `${100 + n}#0`,
    page_id: String(100 + n),
    title: `Page ${n}`,
    url: `https://wiki.example.com/spaces/RH/pages/${100 + n}`,
    space_key: 'RH',
    breadcrumb: ['Accueil RH', 'Absences'],
    heading: 'Poser un congé',
    labels: [],
    last_modified: '2026-11-20T09:00:00Z',
    score: 1 / n,
    snippet: `Extrait ${n}`,
    text: `Texte ${n}`,
    ...overrides,
  };
}

export function job(overrides: Partial<IngestJob> = {}): IngestJob {
  return {
    id: 'job1',
    space_key: 'RH',
    full: false,
    kind: 'sync',
    status: 'running',
    mode: '',
    pages_seen: 10,
    pages_total: 10,
    pages_done: 0,
    pages_added: 0,
    pages_updated: 0,
    pages_unchanged: 0,
    pages_deleted: 0,
    pages_failed: 0,
    chunks_written: 0,
    failures: [],
    access_pages_updated: 0,
    access_problems: [],
    error: null,
    created_at: '2026-11-24T07:00:00Z',
    started_at: '2026-11-24T07:00:00Z',
    finished_at: null,
    duration_s: null,
    ...overrides,
  };
}

/** One SSE frame. */
export function sse(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** A streamed text/event-stream response delivering `chunks` one read at a time. */
export function sseResponse(chunks: string[], status = 200): Response {
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
  return new Response(body, { status, headers: { 'Content-Type': 'text/event-stream' } });
}

export function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' },
  });
}

/** Resolves after pending promise callbacks (and zoneless change detection) have run. */
export function flush(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
