import { TestBed } from '@angular/core/testing';
import { jsonResponse, source, sse, sseResponse } from '../../testing/fixtures';
import { ApiError } from './api-error';
import { ApiService, toChatEvent } from './api.service';
import { ChatEvent } from './models';

async function collect(iterable: AsyncIterable<ChatEvent>): Promise<ChatEvent[]> {
  const events: ChatEvent[] = [];
  for await (const event of iterable) events.push(event);
  return events;
}

async function failure(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    return err as ApiError;
  }
  throw new Error('expected a failure');
}

describe('ApiService', () => {
  let api: ApiService;
  let fetchMock: ReturnType<typeof vi.fn>;

  beforeEach(() => {
    api = TestBed.inject(ApiService);
    fetchMock = vi.fn();
    api.fetchImpl = fetchMock as unknown as typeof fetch;
  });

  describe('chat stream', () => {
    it('POSTs the request as JSON to /api/chat and yields the decoded events in order', async () => {
      const body = sse('sources', { sources: [source(1)], mode: 'llm', query: 'congés' });
      fetchMock.mockResolvedValue(
        sseResponse([
          body.slice(0, 25),
          body.slice(25) + sse('token', { text: 'Il faut ' }).slice(0, 10),
          sse('token', { text: 'Il faut ' }).slice(10) + sse('token', { text: 'poser [1].' }),
          sse('done', { mode: 'llm', answer_found: true, timings: { total_ms: 42 } }),
        ]),
      );
      const request = { messages: [{ role: 'user' as const, content: 'Congés ?' }], spaces: ['RH'] };

      const events = await collect(api.chat(request));

      const [url, init] = fetchMock.mock.calls[0];
      expect(url).toBe('/api/chat');
      expect(init.method).toBe('POST');
      expect(JSON.parse(init.body)).toEqual(request);
      expect(init.headers['Accept']).toBe('text/event-stream');
      expect(events.map((e) => e.type)).toEqual(['sources', 'token', 'token', 'done']);
      expect(events[0]).toMatchObject({ type: 'sources', mode: 'llm', query: 'congés' });
      expect(events.filter((e) => e.type === 'token').map((e) => (e as { text: string }).text).join('')).toBe(
        'Il faut poser [1].',
      );
      expect(events[3]).toEqual({
        type: 'done',
        mode: 'llm',
        answer_found: true,
        timings: { total_ms: 42 },
        conversation_id: null,
        message_id: null,
      });
    });

    it('yields the error event with the server message and stops there', async () => {
      fetchMock.mockResolvedValue(
        sseResponse([
          sse('sources', { sources: [], mode: 'llm', query: 'q' }),
          sse('error', { status: 502, message: 'Le LLM ne répond pas' }),
          sse('token', { text: 'ignored' }),
        ]),
      );
      const events = await collect(api.chat({ messages: [{ role: 'user', content: 'q' }] }));
      expect(events.at(-1)).toEqual({ type: 'error', status: 502, message: 'Le LLM ne répond pas' });
      expect(events.some((e) => e.type === 'token')).toBe(false);
    });

    it('maps a 503 JSON answer to an ApiError carrying the detail', async () => {
      fetchMock.mockResolvedValue(jsonResponse(503, { detail: 'Index indisponible' }));
      const err = await failure(collect(api.chat({ messages: [] })));
      expect(err.status).toBe(503);
      expect(err.detail).toBe('Index indisponible');
      expect(err.kind).toBe('http');
    });

    it('joins FastAPI validation errors (422) into one message', async () => {
      fetchMock.mockResolvedValue(
        jsonResponse(422, { detail: [{ loc: ['body', 'messages'], msg: 'Field required' }] }),
      );
      const err = await failure(collect(api.chat({ messages: [] })));
      expect(err.status).toBe(422);
      expect(err.detail).toBe('messages: Field required');
    });

    it('keeps no detail for a non-JSON error page (nginx 502)', async () => {
      fetchMock.mockResolvedValue(new Response('<html>Bad Gateway</html>', { status: 502 }));
      const err = await failure(collect(api.chat({ messages: [] })));
      expect(err.status).toBe(502);
      expect(err.detail).toBeNull();
    });

    it('reports an unreachable server as a network error', async () => {
      fetchMock.mockRejectedValue(new TypeError('Failed to fetch'));
      const err = await failure(collect(api.chat({ messages: [] })));
      expect(err.kind).toBe('network');
    });

    it('reports a stream that ends before done as a stream error', async () => {
      fetchMock.mockResolvedValue(sseResponse([sse('token', { text: 'Début' })]));
      const events: ChatEvent[] = [];
      const err = await failure(
        (async () => {
          for await (const e of api.chat({ messages: [] })) events.push(e);
        })(),
      );
      expect(err.kind).toBe('stream');
      expect(events).toEqual([{ type: 'token', text: 'Début' }]);
    });

    it('lets an abort propagate as an AbortError, not an ApiError', async () => {
      const controller = new AbortController();
      fetchMock.mockImplementation((_url: string, init: RequestInit) => {
        return new Promise((_resolve, reject) => {
          init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
        });
      });
      const pending = collect(api.chat({ messages: [] }, controller.signal));
      controller.abort();
      await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
      expect(fetchMock.mock.calls[0][1].signal).toBe(controller.signal);
    });
  });

  describe('JSON endpoints', () => {
    it('reads the spaces list', async () => {
      fetchMock.mockResolvedValue(jsonResponse(200, { spaces: [{ key: 'RH', pages: 3, chunks: 9 }] }));
      expect(await api.spaces()).toEqual([{ key: 'RH', pages: 3, chunks: 9 }]);
      expect(fetchMock.mock.calls[0][0]).toBe('/api/spaces');
    });

    it('starts an ingest job with the bearer token and the space key', async () => {
      fetchMock.mockResolvedValue(jsonResponse(202, { id: 'j1', status: 'queued' }));
      const job = await api.startJob('secret', 'RH', true);
      const [url, init] = fetchMock.mock.calls[0];
      expect(url).toBe('/api/ingest/jobs');
      expect(init.method).toBe('POST');
      expect(init.headers['Authorization']).toBe('Bearer secret');
      expect(JSON.parse(init.body)).toEqual({ space_key: 'RH', full: true });
      expect(job.id).toBe('j1');
    });

    it('maps 401 and 409 answers to their detail', async () => {
      fetchMock.mockResolvedValueOnce(jsonResponse(401, { detail: 'invalid admin token' }));
      expect((await failure(api.listJobs('bad'))).detail).toBe('invalid admin token');
      fetchMock.mockResolvedValueOnce(jsonResponse(409, { detail: 'a job for RH is already running' }));
      const conflict = await failure(api.startJob('t', 'RH'));
      expect(conflict.status).toBe(409);
      expect(conflict.detail).toContain('already running');
    });

    it('escapes the job id in the URL', async () => {
      fetchMock.mockResolvedValue(jsonResponse(200, { id: 'a/b' }));
      await api.getJob('t', 'a/b');
      expect(fetchMock.mock.calls[0][0]).toBe('/api/ingest/jobs/a%2Fb');
    });
  });

  describe('toChatEvent', () => {
    it('ignores unknown event types and undecodable data', () => {
      expect(toChatEvent('ping', '{}')).toBeNull();
      expect(toChatEvent('token', 'not json')).toBeNull();
    });

    it('treats a missing answer_found as true and a non-JSON error as its text', () => {
      expect(toChatEvent('done', '{"mode":"extractive"}')).toMatchObject({ mode: 'extractive', answer_found: true });
      expect(toChatEvent('error', 'boom')).toEqual({ type: 'error', status: 0, message: 'boom' });
    });

    it('keeps the conversation_id and message_id of the done event when the server stored the answer', () => {
      expect(toChatEvent('done', '{"mode":"llm","conversation_id":"c1","message_id":"m1"}')).toMatchObject({
        conversation_id: 'c1',
        message_id: 'm1',
      });
      expect(toChatEvent('done', '{"mode":"llm","conversation_id":null}')).toMatchObject({
        conversation_id: null,
        message_id: null,
      });
    });
  });
});
