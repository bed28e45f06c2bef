/**
 * Semantic search: nearest messages by cosine, across chats in one ranking. Each chat's index is
 * asked for its candidates, then the rows are read and scored by the exact cosine with the stored
 * float32 vector, so scores are comparable across chats and across exact and quantized HNSW
 * indexes (a quantized index is asked for twice as many to make up for its rounding).
 *
 * Filters (sender, dates) on an HNSW chat: when few rows match, they are scanned exactly (vectors
 * read from SQLite); otherwise the index is over-fetched by the inverse of the filter's
 * selectivity, growing until enough candidates pass. A search that wants half the chat or more is
 * an exact scan too: HNSW does not promise to return every vector when asked for most of them.
 */
import usearch from "usearch";
import type { ChatIndexes, LoadedChat } from "../chat-indexes.ts";
import { DEFAULTS } from "../defaults.ts";
import { validFilters, validK, validQueryVector } from "../input.ts";
import { narrowsRows, type ChatRow, type MessageStore, type RowFilter } from "../message-store.ts";
import type { Quantization, SearchFilters, SearchHit } from "../types.ts";
import { DIMENSIONS, freshQuery, messageIdOfKey, type IndexMatches } from "../vector-index.ts";
import { blobInto, blobToVec, dot } from "../vectors.ts";
import { hitOrder } from "./hits.ts";

export interface SemanticContext {
  store: MessageStore;
  indexes: ChatIndexes;
  quantization: Quantization;
  exactFilterMax: number;
}

interface Candidate {
  chatId: string;
  id: number;
  distance: number;
}

const NONE: IndexMatches = { keys: [], distances: [] };

/** Exact scan of the given rows of one chat (keys of the result are message ids). */
function exactOverRows(rows: Array<[number, Buffer]>, q: Float32Array, want: number): IndexMatches {
  const n = rows.length;
  const k = Math.min(want, n);
  if (k === 0) return NONE;
  const matrix = new Float32Array(n * DIMENSIONS);
  const ids: number[] = new Array(n);
  rows.forEach(([id, blob], i) => {
    ids[i] = id;
    blobInto(blob, matrix, i);
  });
  const m = usearch.exactSearch(matrix, freshQuery(q), DIMENSIONS, k, "cos" as never, 1);
  const keys: number[] = [];
  const distances: number[] = [];
  for (let i = 0; i < k; i++) {
    keys.push(ids[Number(m.keys[i])]!);
    distances.push(m.distances[i]!);
  }
  return { keys, distances };
}

/** The index's nearest neighbours, with keys turned back into message ids. */
function searchIndex(lc: LoadedChat, q: Float32Array, k: number): IndexMatches {
  const m = lc.index.search(q, k);
  return { keys: m.keys.map(messageIdOfKey), distances: m.distances };
}

/** Nearest messages of one chat that pass the filter (keys of the result are message ids). */
function searchChat(ctx: SemanticContext, chat: ChatRow, q: Float32Array, want: number, f: RowFilter): IndexMatches {
  const { store } = ctx;
  const lc = ctx.indexes.get(chat);
  const total = lc.index.size();
  if (total === 0) return NONE;
  const hnsw = lc.index.kind === "hnsw";
  const mostOf = (n: number) => hnsw && n * 2 >= total;
  const scan = () => exactOverRows(store.vectorsMatching(chat.chat_id, f), q, want);
  if (!narrowsRows(f)) return mostOf(want) ? scan() : searchIndex(lc, q, want);
  // Counting stops at `cap`: past it, the exact scan is out and a rough selectivity will do (a
  // capped count only makes the first over-fetch larger); counting a whole big date range would
  // otherwise cost more than the search.
  const cap = Math.max(ctx.exactFilterMax + 1, Math.ceil(total / 8));
  const matching = store.countMatching(chat.chat_id, f, cap);
  if (matching === 0) return NONE;
  if (hnsw && matching <= ctx.exactFilterMax) return scan();
  let fetch = Math.min(total, Math.ceil((want * total * 1.5) / matching) + 16);
  for (;;) {
    if (mostOf(fetch)) return scan();
    const res = searchIndex(lc, q, fetch);
    const ok = store.matchingIds(chat.chat_id, res.keys, f);
    const keys: number[] = [];
    const distances: number[] = [];
    for (let i = 0; i < res.keys.length && keys.length < want; i++) {
      if (ok.has(res.keys[i]!)) {
        keys.push(res.keys[i]!);
        distances.push(res.distances[i]!);
      }
    }
    if (keys.length >= want || fetch >= total || res.keys.length < fetch) return { keys, distances };
    fetch = Math.min(total, fetch * 4);
  }
}

/** Reads the rows of the candidates and scores them by the exact cosine with the stored vector. */
function materialize(store: MessageStore, cands: Candidate[], q: Float32Array): SearchHit[] {
  const byChat = new Map<string, number[]>();
  for (const c of cands) {
    let ids = byChat.get(c.chatId);
    if (!ids) byChat.set(c.chatId, (ids = []));
    ids.push(c.id);
  }
  const hits: SearchHit[] = [];
  for (const [chatId, ids] of byChat) {
    for (const { vec, ...row } of store.hitsByIds(chatId, ids)) {
      const score = dot(q, blobToVec(vec));
      hits.push({ ...row, score: score > 1 ? 1 : score < -1 ? -1 : score });
    }
  }
  return hits.sort(hitOrder);
}

export function searchSemantic(ctx: SemanticContext, queryVec: Float32Array | readonly number[], k: number, filters: SearchFilters): SearchHit[] {
  const want = validK(k);
  const f = validFilters(filters);
  const q = validQueryVector(queryVec);
  let chats: ChatRow[];
  if (f.chat !== undefined) {
    const c = ctx.store.getChat(f.chat);
    chats = c ? [c] : [];
  } else {
    chats = ctx.store.allChats();
  }
  const perChat = ctx.quantization === "f32" ? want : Math.min(DEFAULTS.maxK, want * 2);
  const cands: Candidate[] = [];
  for (const chat of chats) {
    const m = searchChat(ctx, chat, q, perChat, f);
    for (let i = 0; i < m.keys.length; i++) cands.push({ chatId: chat.chat_id, id: m.keys[i]!, distance: m.distances[i]! });
  }
  cands.sort((a, b) => a.distance - b.distance);
  return materialize(ctx.store, cands.slice(0, perChat), q).slice(0, want);
}
