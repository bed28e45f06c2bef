/**
 * Upsert: one SQLite transaction per batch, then the in-memory indexes. Idempotent per (chat_id,
 * message_id), since every sink may see a message again (at-least-once delivery, re-imports):
 *  - an identical message, or one whose vector differs only by float noise (a re-import re-embeds),
 *    is unchanged and keeps its row, its seq and its index entry;
 *  - a version edited earlier than the stored one (a late redelivery) never overwrites it;
 *  - anything else replaces the row under a new seq, so a reopen replays it into the index.
 * Only live reading knows a chat's @username: a message without one keeps the stored one.
 */
import type { EmbeddedMessage } from "../common/schemas.ts";
import type { ChatChanges, ChatIndexes } from "./chat-indexes.ts";
import { prepareMessage, type PreparedMessage } from "./input.ts";
import type { ChatRow, MessageRow, MessageStore } from "./message-store.ts";
import type { UpsertResult } from "./types.ts";
import { indexKey } from "./vector-index.ts";
import { blobToVec, dot, vecToBlob } from "./vectors.ts";

/** Two unit vectors with a dot product at least this are treated as the same embedding. */
const SAME_VECTOR_DOT = 1 - 1e-6;

function sameFields(row: MessageRow, p: PreparedMessage): boolean {
  const m = p.msg;
  return (
    row.date === m.date &&
    row.sender_id === (m.sender?.id ?? null) &&
    row.sender === (m.sender?.name ?? null) &&
    row.text === m.text &&
    row.clean_text === m.clean_text &&
    row.lang === m.lang &&
    row.reply_to === (m.reply_to ?? null) &&
    row.forwarded_from === (m.forwarded_from ?? null) &&
    row.edited === (m.edited ?? null) &&
    row.media === (m.media ?? null)
  );
}

function sameVector(blob: Buffer, v: Float32Array): boolean {
  if (blob.equals(vecToBlob(v))) return true;
  return dot(blobToVec(blob), v) >= SAME_VECTOR_DOT;
}

/** The chat row after this message: created, renamed, or as it was. */
function chatRowFor(store: MessageStore, m: EmbeddedMessage, known: ChatRow | undefined, nextSeq: () => number): ChatRow {
  const username = m.chat.username ?? known?.username ?? null;
  if (!known) {
    const chat = { chat_id: m.chat.id, name: m.chat.name, type: m.chat.type, username, gen: nextSeq() };
    store.insertChat(chat);
    return chat;
  }
  if (known.name === m.chat.name && known.type === m.chat.type && known.username === username) return known;
  const chat = { ...known, name: m.chat.name, type: m.chat.type, username };
  store.updateChat(chat);
  return chat;
}

function rowOf(p: PreparedMessage, seq: number, keptVec: Buffer | undefined): MessageRow {
  const m = p.msg;
  return {
    chat_id: m.chat.id,
    message_id: m.message_id,
    seq,
    date: m.date,
    sender_id: m.sender?.id ?? null,
    sender: m.sender?.name ?? null,
    sender_key: p.senderKey,
    text: m.text,
    clean_text: m.clean_text,
    lang: m.lang,
    reply_to: m.reply_to ?? null,
    forwarded_from: m.forwarded_from ?? null,
    edited: m.edited ?? null,
    media: m.media ?? null,
    // An embedding equal up to float noise keeps its stored bytes: the index stays as it is.
    vec: keptVec ?? vecToBlob(p.vec),
  };
}

/** Writes the batch to SQLite in one transaction; returns the counts and what changed per chat. */
function commit(store: MessageStore, prepared: readonly PreparedMessage[]): { result: UpsertResult; changes: Map<string, ChatChanges> } {
  const result: UpsertResult = { inserted: 0, updated: 0, unchanged: 0 };
  const changes = new Map<string, ChatChanges>();
  store.transaction(() => {
    let seq = store.nextSeq();
    const startSeq = seq;
    const nextSeq = () => seq++;
    const chats = new Map<string, ChatRow>();
    for (const p of prepared) {
      const m = p.msg;
      const chatId = m.chat.id;
      const chat = chatRowFor(store, m, chats.get(chatId) ?? store.getChat(chatId), nextSeq);
      chats.set(chatId, chat);

      const existing = store.getMessage(chatId, m.message_id);
      let vecChanged = true;
      if (existing) {
        if ((m.edited ?? 0) < (existing.edited ?? 0)) {
          result.unchanged++;
          continue;
        }
        vecChanged = !sameVector(existing.vec, p.vec);
        if (!vecChanged && sameFields(existing, p)) {
          result.unchanged++;
          continue;
        }
      }
      const row = rowOf(p, nextSeq(), existing && !vecChanged ? existing.vec : undefined);
      if (existing) {
        store.updateMessage(row);
        result.updated++;
      } else {
        store.insertMessage(row);
        result.inserted++;
      }
      let c = changes.get(chatId);
      if (!c) changes.set(chatId, (c = { vectors: new Map(), maxSeq: 0, gen: chat.gen }));
      if (vecChanged) c.vectors.set(indexKey(m.message_id), p.vec);
      c.maxSeq = row.seq;
    }
    if (seq !== startSeq) store.setNextSeq(seq);
  });
  return { result, changes };
}

export function upsert(store: MessageStore, indexes: ChatIndexes, batch: readonly EmbeddedMessage[]): UpsertResult {
  if (!Array.isArray(batch) || batch.length === 0) return { inserted: 0, updated: 0, unchanged: 0 };
  const prepared = batch.map(prepareMessage);
  // Load touched chats' indexes before the transaction, so they reflect the state before it.
  for (const id of new Set(prepared.map((p) => p.msg.chat.id))) {
    const chat = store.getChat(id);
    if (chat) indexes.get(chat);
  }
  const { result, changes } = commit(store, prepared);
  // Committed. A failure from here on loses nothing: SQLite has the rows (see chat-indexes.ts).
  indexes.applyCommitted(changes);
  return result;
}
