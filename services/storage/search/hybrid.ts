/**
 * Hybrid search: the semantic and the keyword lists fused by reciprocal rank (RRF: each list adds
 * 1 / (rrfK + rank) to a message, rank from 1), which needs no calibration between cosine and
 * bm25 scores. Each list is fetched deeper than k, so that fusion can promote a message ranked
 * lower in one list but high in the other. Built on the two searches of any Storage, so every
 * backend gets it the same.
 */
import { DEFAULTS } from "../defaults.ts";
import { validK } from "../input.ts";
import type { SearchFilters, SearchHit, Storage } from "../types.ts";
import { hitKey, hitOrder } from "./hits.ts";

/** RRF of two ranked lists; ties by the semantic score (-2 when only the keyword list has it), then hitOrder. */
function fuseByRank(semantic: readonly SearchHit[], keyword: readonly SearchHit[], k: number): SearchHit[] {
  const fused = new Map<string, { hit: SearchHit; score: number; sem: number }>();
  const add = (list: readonly SearchHit[], isSemantic: boolean) =>
    list.forEach((h, i) => {
      const key = hitKey(h);
      let e = fused.get(key);
      if (!e) fused.set(key, (e = { hit: h, score: 0, sem: -2 }));
      e.score += 1 / (DEFAULTS.rrfK + i + 1);
      if (isSemantic) e.sem = h.score;
    });
  add(semantic, true);
  add(keyword, false);
  return [...fused.values()]
    .sort((a, b) => b.score - a.score || b.sem - a.sem || hitOrder(a.hit, b.hit))
    .slice(0, k)
    .map((e) => ({ ...e.hit, score: e.score }));
}

export async function searchHybrid(
  lists: Pick<Storage, "searchSemantic" | "searchKeyword">,
  query: string,
  queryVector: Float32Array | readonly number[],
  k: number,
  filters: SearchFilters,
): Promise<SearchHit[]> {
  const want = validK(k);
  const depth = Math.min(DEFAULTS.maxK, Math.max(want * 3, 50));
  const semantic = await lists.searchSemantic(queryVector, depth, filters);
  const keyword = await lists.searchKeyword(query, depth, filters);
  return fuseByRank(semantic, keyword, want);
}
