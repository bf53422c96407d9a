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

/** `conversation_id` continues a conversation stored on the server. */
export type ChatRequest = Schemas['ChatBody'] & { conversation_id?: string };

export type Timings = Schemas['Timings'];

/** The events of the POST /api/chat stream, already decoded. */
export type ChatEvent =
  | ({ type: 'sources' } & Schemas['SourcesEvent'])
  | ({ type: 'token' } & Schemas['TokenEvent'])
  | ({ type: 'done' } & Schemas['DoneEvent'] & { conversation_id?: string; message_id?: string })
  | ({ type: 'error' } & Schemas['ErrorEvent']);

export type SpaceInfo = Schemas['SpaceInfo'];

export type IngestJob = Schemas['JobOut'];
export type JobStatus = IngestJob['status'];

/** A message as the UI keeps it (and persists it in localStorage). */
export type MessageStatus = 'streaming' | 'done' | 'stopped' | 'error';

export type Rating = 'up' | 'down';

/** What the user said about an answer (sent with POST /api/feedback). */
export interface MessageFeedback {
  rating?: Rating;
  comment?: string;
  /** chunk_id of each cited passage the user marked as wrong. */
  wrongSources?: string[];
}

export interface ChatMessage {
  id: string;
  /** The server's message_id (server-side history): what feedback refers to. */
  serverId?: string;
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
  feedback?: MessageFeedback;
  /** Sources of a reopened answer withheld because the user can no longer read them. */
  withheldNote?: string;
}

export interface Conversation {
  id: string;
  /** The server's conversation_id, once the server stored it (server-side history). */
  serverId?: string;
  /** Server-side history: false until the messages were fetched (the list only has titles). */
  loaded?: boolean;
  title: string;
  createdAt: string;
  updatedAt: string;
  messages: ChatMessage[];
}

/* The history API of issue 19, written from its contract until api-types.ts carries it. */
export interface ConversationSummary {
  id: string;
  title: string;
  updated_at: string;
}

export interface StoredMessage {
  id: string;
  role: Role;
  content: string;
  created_at: string;
  sources: Source[];
  withheld_note?: string | null;
}

export interface ConversationDetail extends ConversationSummary {
  messages: StoredMessage[];
}

export interface FeedbackBody {
  message_id: string;
  rating: Rating;
  comment?: string;
  wrong_chunk_ids?: string[];
}
