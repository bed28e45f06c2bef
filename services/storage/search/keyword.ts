/**
 * Keyword search over SQLite FTS5, score -bm25 (higher is better). What a person typed becomes a
 * MATCH expression that can never be a syntax error (fts-query.ts). Messages with every term come
 * first; when they are fewer than k, messages with any term fill the list, so a query with one
 * word nobody used still finds the messages with the others.
 */
import { buildFtsQuery } from "../fts-query.ts";
import { validFilters, validK, validQueryText } from "../input.ts";
import type { MessageStore } from "../message-store.ts";
import type { SearchFilters, SearchHit } from "../types.ts";
import { hitKey } from "./hits.ts";

export function searchKeyword(store: MessageStore, query: string, k: number, filters: SearchFilters): SearchHit[] {
  const want = validK(k);
  const f = validFilters(filters);
  const fq = buildFtsQuery(validQueryText(query));
  if (!fq) return [];
  const hits = store.keyword(fq.all, want, f);
  if (hits.length < want && fq.terms > 1) {
    const seen = new Set(hits.map(hitKey));
    for (const h of store.keyword(fq.any, want, f)) {
      if (hits.length >= want) break;
      if (!seen.has(hitKey(h))) hits.push(h);
    }
  }
  return hits.map((h) => ({ ...h }));
}
