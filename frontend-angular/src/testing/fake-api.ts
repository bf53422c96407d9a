import { ApiService } from '../app/core/api.service';
import { ChatEvent, ChatRequest } from '../app/core/models';

/**
 * A stand-in for ApiService.chat driven by the test: `emit()` delivers events one by one,
 * `end()` finishes the stream, an abort of the request's signal rejects with an AbortError.
 */
export class FakeChatStream {
  readonly requests: ChatRequest[] = [];
  private queue: ChatEvent[] = [];
  private wake: (() => void) | null = null;
  private ended = false;
  private failure: unknown = null;

  emit(...events: ChatEvent[]): void {
    this.queue.push(...events);
    this.wake?.();
  }

  end(): void {
    this.ended = true;
    this.wake?.();
  }

  fail(err: unknown): void {
    this.failure = err;
    this.wake?.();
  }

  install(api: ApiService): void {
    api.chat = (request: ChatRequest, signal?: AbortSignal) => this.run(request, signal);
  }

  /** Resets the stream so the same fake can serve the next request. */
  reset(): void {
    this.queue = [];
    this.ended = false;
    this.failure = null;
  }

  private async *run(request: ChatRequest, signal?: AbortSignal): AsyncGenerator<ChatEvent> {
    this.requests.push(structuredClone(request));
    while (true) {
      if (signal?.aborted) throw new DOMException('aborted', 'AbortError');
      if (this.failure) throw this.failure;
      const next = this.queue.shift();
      if (next) {
        yield next;
        if (next.type === 'done' || next.type === 'error') return;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        signal?.addEventListener('abort', () => resolve(), { once: true });
      });
      this.wake = null;
    }
  }
}
