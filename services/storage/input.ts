/**
 * What callers hand the storage, checked before anything is read or written: a batch with one bad
 * message is refused whole (TGLENS_SCHEMA, naming the item), a bad search argument is a
 * TGLENS_BAD_REQUEST. The bus and the HTTP routes validate too; this is the storage's own guard.
 */
import { TglensError } from "../common/errors.ts";
import { EMBEDDING_DIM, MAX_ABS_MESSAGE_ID, MAX_UNIX_SECONDS, type EmbeddedMessage } from "../common/schemas.ts";
import { DEFAULTS } from "./defaults.ts";
import type { SearchFilters } from "./types.ts";
import { DIMENSIONS } from "./vector-index.ts";
import { unitVector } from "./vectors.ts";

export interface PreparedMessage {
  msg: EmbeddedMessage;
  /** The message's vector at unit length. */
  vec: Float32Array;
  /** The sender name lower-cased (Unicode-aware), for the case-insensitive sender filter. */
  senderKey: string | null;
}

function bad(index: number, msg: EmbeddedMessage | undefined, reason: string): never {
  throw new TglensError("TGLENS_SCHEMA", `store batch item ${index}: ${reason}`, {
    details: { index, chat_id: msg?.chat?.id, message_id: msg?.message_id, reason },
  });
}

export function prepareMessage(msg: EmbeddedMessage, i: number): PreparedMessage {
  if (!msg || typeof msg !== "object") bad(i, undefined, "not an object");
  if (!msg.chat || typeof msg.chat.id !== "string" || msg.chat.id.length === 0) bad(i, msg, "chat.id missing");
  if (!Number.isSafeInteger(msg.message_id) || Math.abs(msg.message_id) > MAX_ABS_MESSAGE_ID) {
    bad(i, msg, `message_id must be an integer from -${MAX_ABS_MESSAGE_ID} to ${MAX_ABS_MESSAGE_ID}`);
  }
  if (!Number.isSafeInteger(msg.date) || msg.date < 0 || msg.date > MAX_UNIX_SECONDS) {
    bad(i, msg, `date must be unix seconds from 0 to ${MAX_UNIX_SECONDS}`);
  }
  if (typeof msg.text !== "string" || typeof msg.clean_text !== "string") bad(i, msg, "text and clean_text must be strings");
  if (!Array.isArray(msg.vector) && !ArrayBuffer.isView(msg.vector)) bad(i, msg, "vector missing");
  if (msg.vector.length !== EMBEDDING_DIM) bad(i, msg, `vector must have ${EMBEDDING_DIM} entries`);
  const vec = unitVector(msg.vector);
  if (!vec) bad(i, msg, "vector has a non-finite entry or is zero");
  const name = msg.sender?.name ?? null;
  return { msg, vec, senderKey: name === null ? null : name.normalize("NFC").toLowerCase() };
}

/** k as a whole number, at most DEFAULTS.maxK. */
export function validK(k: number): number {
  if (typeof k !== "number" || !Number.isFinite(k) || k < 1) {
    throw new TglensError("TGLENS_BAD_REQUEST", "k must be a number ≥ 1");
  }
  return Math.min(Math.floor(k), DEFAULTS.maxK);
}

export function validFilters(f: SearchFilters | undefined): SearchFilters {
  const filters = f ?? {};
  for (const key of ["from", "to"] as const) {
    const v = filters[key];
    if (v !== undefined && (typeof v !== "number" || !Number.isFinite(v))) {
      throw new TglensError("TGLENS_BAD_REQUEST", `filter ${key} must be unix seconds`);
    }
  }
  for (const key of ["chat", "sender"] as const) {
    const v = filters[key];
    if (v !== undefined && typeof v !== "string") throw new TglensError("TGLENS_BAD_REQUEST", `filter ${key} must be a string`);
  }
  return filters;
}

/** The query vector at unit length. */
export function validQueryVector(v: Float32Array | readonly number[]): Float32Array {
  const q = unitVector(v as ArrayLike<number>);
  if (!q) throw new TglensError("TGLENS_BAD_REQUEST", `query vector must have ${DIMENSIONS} finite entries, not all zero`);
  return q;
}

export function validQueryText(query: string): string {
  if (typeof query !== "string") throw new TglensError("TGLENS_BAD_REQUEST", "query must be a string");
  return query;
}

/** A count of messages (`name` says which) as a whole number from `min`, at most DEFAULTS.maxPage. */
export function validCount(name: string, n: number, min: 0 | 1): number {
  if (typeof n !== "number" || !Number.isInteger(n) || n < min) {
    throw new TglensError("TGLENS_BAD_REQUEST", `${name} must be an integer ≥ ${min}`);
  }
  return Math.min(n, DEFAULTS.maxPage);
}

export function validMessageId(id: number): number {
  if (typeof id !== "number" || !Number.isSafeInteger(id)) throw new TglensError("TGLENS_BAD_REQUEST", "message id must be an integer");
  return id;
}

export function validDate(name: string, seconds: number): number {
  if (typeof seconds !== "number" || !Number.isFinite(seconds)) throw new TglensError("TGLENS_BAD_REQUEST", `${name} must be unix seconds`);
  return seconds;
}
