/**
 * Public types of the storage library: the Storage interface the storage service (HTTP and bus)
 * calls, what it returns, and the options of the SQLite + usearch backend (sqlite-storage.ts).
 */
import type { EmbeddedMessage } from "../common/schemas.ts";

/** One message as stored: the raw record's fields, flattened, plus the cleaned text and language. */
export interface StoredMessage {
  chat_id: string;
  chat_name: string;
  chat_type: string;
  /** The chat's public @username (without @), or null: links to the message are t.me/<username>/<message_id>. */
  chat_username: string | null;
  message_id: number;
  /** Unix seconds. */
  date: number;
  sender_id: string | null;
  sender: string | null;
  text: string;
  clean_text: string;
  lang: string;
  reply_to: number | null;
  forwarded_from: string | null;
  edited: number | null;
  media: string | null;
}

/**
 * A search result. `score` depends on the search:
 *  - semantic: cosine similarity in [-1, 1] (1 = same direction), computed exactly from the stored
 *    float32 vector, so scores are comparable across chats and across exact/HNSW indexes;
 *  - keyword: -bm25 (FTS5's bm25 is "lower is better"; negated so higher is better, always > 0
 *    for a match; not bounded, only comparable within one query);
 *  - hybrid: reciprocal-rank fusion, sum over the two lists of 1 / (60 + rank), rank from 1;
 *    at most 2/61 ≈ 0.0328 (first in both lists).
 */
export interface SearchHit extends StoredMessage {
  score: number;
}

export interface SearchFilters {
  /** Only this chat (chat id). Without it every chat is searched and the results merged by score. */
  chat?: string;
  /** Sender id ("user123") exactly, or sender name exactly but case-insensitively (Unicode-aware). */
  sender?: string;
  /** Unix seconds, inclusive. */
  from?: number;
  /** Unix seconds, inclusive. */
  to?: number;
}

export interface ChatSummary {
  chat_id: string;
  name: string;
  type: string;
  /** Public @username (without @) once live reading has seen one; exports never carry it. */
  username: string | null;
  messages: number;
  /** Distinct senders (by sender id, or by name where the id is null). */
  senders: number;
  first_date: number | null;
  last_date: number | null;
}

/** One sender's share of a chat (a sender as ChatSummary.senders counts them). */
export interface SenderCount {
  /** The name on the sender's latest message (names change), or null. */
  sender: string | null;
  sender_id: string | null;
  messages: number;
}

export interface MonthCount {
  /** "2024-05": a calendar month in UTC. */
  month: string;
  messages: number;
}

export interface ChatStats extends ChatSummary {
  /** The most active senders, most messages first; ties by name. */
  top_senders: SenderCount[];
  /** Every month from the first message's to the last message's, oldest first, empty months included. */
  by_month: MonthCount[];
}

/** A chat's name, type and username: what a page of its messages needs to show and link them. */
export type ChatInfo = Pick<ChatSummary, "chat_id" | "name" | "type" | "username">;

/** How many messages to read on each side of a message (messagesAround). */
export interface MessageSpan {
  before: number;
  after: number;
}

/**
 * A run of one chat's messages in chat order (date, then message id), for reading a message in its
 * context or browsing from a date. Every message appears once in a page: `replied_to` and
 * `replies` hold only messages that are not in `messages`.
 */
export interface MessagePage {
  chat: ChatInfo;
  messages: StoredMessage[];
  /** The messages that those in `messages` reply to, when stored and not in `messages`; chat order. */
  replied_to: StoredMessage[];
  /** messagesAround: the first replies to the message, when not in `messages` (at most 100); chat order. */
  replies: StoredMessage[];
  /** Whether the chat has messages before the first of `messages` (before `from` when `messages` is empty). */
  more_before: boolean;
  /** Whether the chat has messages after the last of `messages` (at or after `from` when `messages` is empty). */
  more_after: boolean;
}

export interface UpsertResult {
  inserted: number;
  updated: number;
  unchanged: number;
}

export interface StorageStats {
  chats: number;
  messages: number;
  /** Bytes of vector-index files on disk (SQLite + usearch: HNSW chats only; 0 where a backend keeps none). */
  indexBytes: number;
}

/**
 * What the storage service needs from a storage backend. Every method returns a promise, so a
 * networked backend (PostgreSQL, a vector database) can implement it as well as the embedded
 * SQLite + usearch one (sqlite-storage.ts); test/services/storage/storage-contract.ts is the suite
 * every implementation passes. Errors are TglensErrors: TGLENS_SCHEMA for a bad message (the batch
 * is refused whole), TGLENS_BAD_REQUEST for a bad search argument, TGLENS_NOT_READY once closed.
 */
export interface Storage {
  /** All of the batch or none of it; idempotent per (chat_id, message_id), a newer `edited` replaces. */
  upsert(batch: readonly EmbeddedMessage[]): Promise<UpsertResult>;
  searchSemantic(queryVector: Float32Array | readonly number[], k: number, filters: SearchFilters): Promise<SearchHit[]>;
  searchKeyword(query: string, k: number, filters: SearchFilters): Promise<SearchHit[]>;
  searchHybrid(query: string, queryVector: Float32Array | readonly number[], k: number, filters: SearchFilters): Promise<SearchHit[]>;
  chats(): Promise<ChatSummary[]>;
  chat(chatId: string): Promise<ChatSummary | undefined>;
  /** The chat's summary with its 5 most active senders and its messages per month; undefined when unknown. */
  chatStats(chatId: string): Promise<ChatStats | undefined>;
  /**
   * The message, the `before` messages before it and the `after` messages after it (each at most
   * 1000), with what they reply to and the replies to the message. Undefined when the chat is
   * unknown or has no such message.
   */
  messagesAround(chatId: string, messageId: number, span: MessageSpan): Promise<MessagePage | undefined>;
  /** The first `limit` messages (at most 1000) at or after `from` (unix seconds); undefined when the chat is unknown. */
  messagesFrom(chatId: string, from: number, limit: number): Promise<MessagePage | undefined>;
  /** Removes the chat's messages and vectors, leaving nothing of them behind. False when the chat was unknown. */
  deleteChat(chatId: string): Promise<boolean>;
  /** Makes every acknowledged write durable in its derived form too (index files), now. */
  flush(): Promise<void>;
  /** flush(), then releases everything. Further calls reject with TGLENS_NOT_READY; a second close() does nothing. */
  close(): Promise<void>;
  stats(): Promise<StorageStats>;
}

/** The subset of a pino logger the storage uses (pino's `logger` fits). */
export interface StorageLogger {
  debug(obj: Record<string, unknown>, msg?: string): void;
  info(obj: Record<string, unknown>, msg?: string): void;
  warn(obj: Record<string, unknown>, msg?: string): void;
  error(obj: Record<string, unknown>, msg?: string): void;
}

// ---- options of the SQLite + usearch backend ----------------------------------------------------

export type Quantization = "f32" | "f16" | "i8";

export interface HnswParams {
  /** usearch `connectivity` (HNSW M). */
  connectivity: number;
  /** usearch `expansion_add` (efConstruction). */
  expansionAdd: number;
  /** usearch `expansion_search` (ef). */
  expansionSearch: number;
}

export interface StorageOptions {
  /** Data directory (e.g. data/storage): holds messages.db and index/. Created if missing. */
  dir: string;
  /** A chat switches from exact search to HNSW when it holds more than this many vectors. */
  hnswThreshold?: number;
  log?: StorageLogger;
  /** A dirty HNSW index is saved this long after the last change (trailing debounce). */
  saveDebounceMs?: number;
  /** ... but never later than this after its first unsaved change, even under steady writes. */
  maxSaveDelayMs?: number;
  /** Scalar type of the HNSW index in memory. SQLite always keeps float32. */
  quantization?: Quantization;
  hnsw?: Partial<HnswParams>;
  /**
   * A filtered semantic search on an HNSW chat scans the matching rows exactly (vectors read from
   * SQLite) when at most this many rows match; above it, it over-fetches from the index. Default 4096.
   */
  exactFilterMax?: number;
}
