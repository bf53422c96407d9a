/** Types of the query API contract (docs/api.md). */

export type Role = 'user' | 'assistant';
export type AnswerMode = 'llm' | 'extractive';

/** A retrieved passage: a search result or a chat source. `n` is the citation number. */
export interface Source {
  n: number;
  page_id: string;
  title: string;
  url: string;
  space_key: string;
  breadcrumb: string[];
  heading?: string | null;
  labels?: string[];
  last_modified?: string | null;
  score?: number;
  snippet: string;
  text?: string;
}

export interface ChatRequest {
  messages: { role: Role; content: string }[];
  top_k?: number;
  spaces?: string[];
  labels?: string[];
}

export interface Timings {
  condense_ms?: number;
  retrieve_ms?: number;
  generate_ms?: number;
  total_ms?: number;
}

/** The events of the POST /api/chat stream, already decoded. */
export type ChatEvent =
  | { type: 'sources'; sources: Source[]; mode: AnswerMode; query: string }
  | { type: 'token'; text: string }
  | { type: 'done'; mode: AnswerMode; answer_found: boolean; timings?: Timings }
  | { type: 'error'; status: number; message: string };

export interface SpaceInfo {
  key: string;
  pages: number;
  chunks: number;
}

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed';

export interface IngestJob {
  id: string;
  space_key: string;
  full: boolean;
  status: JobStatus;
  pages_total: number | null;
  pages_done: number;
  pages_added: number;
  pages_updated: number;
  pages_unchanged: number;
  pages_deleted: number;
  pages_failed: number;
  chunks_written: number;
  error: string | null;
  started_at: string | null;
  finished_at: string | null;
  duration_s: number | null;
}

/** A message as the UI keeps it (and persists it in localStorage). */
export type MessageStatus = 'streaming' | 'done' | 'stopped' | 'error';

export interface ChatMessage {
  id: string;
  role: Role;
  content: string;
  status: MessageStatus;
  createdAt: string;
  sources?: Source[];
  mode?: AnswerMode;
  answerFound?: boolean;
  /** Human-readable error shown under a failed answer. */
  error?: string;
  timings?: Timings;
}

export interface Conversation {
  id: string;
  title: string;
  createdAt: string;
  updatedAt: string;
  messages: ChatMessage[];
}
