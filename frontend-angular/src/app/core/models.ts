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
  /** Cited passages of a reopened answer the user can no longer read (the answer is withheld with them). */
  withheld?: number;
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

/* Server-side history, feedback and the operators' analytics. */
export type ConversationSummary = Schemas['ConversationSummary'];
/** One question of a reopened conversation and its answer (null when a cited passage is withheld). */
export type StoredAnswer = Schemas['StoredAnswer'];
export type ConversationDetail = Schemas['ConversationOut'];
export type FeedbackBody = Schemas['FeedbackBody'];
export type Rating = FeedbackBody['rating'];
/** GET /api/admin/analytics: usage over [start, end), operators only. */
export type Analytics = Schemas['AnalyticsOut'];
export type Percentiles = Schemas['Percentiles'];
