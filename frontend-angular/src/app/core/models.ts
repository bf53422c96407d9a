/**
 * Types of the query API contract, taken from the types generated from its OpenAPI document
 * (`api-types.ts`, `make api-types`; a Python test fails when that file is stale).
 */
import type { components } from './api-types';

type Schemas = components['schemas'];

export type Role = Schemas['Message']['role'];
export type AnswerMode = Schemas['ChatOut']['mode'];

/** A retrieved passage: a search result or a chat source. `n` is the citation number. */
export type Source = Schemas['SourceOut'];

export type ChatRequest = Schemas['ChatBody'];

export type Timings = Schemas['Timings'];

/** The events of the POST /api/chat stream, already decoded. */
export type ChatEvent =
  | ({ type: 'sources' } & Schemas['SourcesEvent'])
  | ({ type: 'token' } & Schemas['TokenEvent'])
  | ({ type: 'done' } & Schemas['DoneEvent'])
  | ({ type: 'error' } & Schemas['ErrorEvent']);

export type SpaceInfo = Schemas['SpaceInfo'];

export type IngestJob = Schemas['JobOut'];

/** GET /api/access/explain: why a user can (or cannot) read a page (operators only). */
export type AccessExplanation = Schemas['AccessExplanationOut'];
export type JobStatus = IngestJob['status'];

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
