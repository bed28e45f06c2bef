/**
 * A result's score in words. What a number means depends on the mode: in semantic mode it is the
 * cosine similarity of the query's and the message's vectors (all-MiniLM-L6-v2 puts unrelated
 * sentences below about 0.3, paraphrases above about 0.5); in keyword mode a BM25-based rank of
 * the words found; in hybrid mode a fusion of both ranks, which says nothing on its own, so the
 * explanation says whether the message also has the query's words. Weak semantic hits are shown
 * as such rather than passed off as answers.
 */
import type { SearchMode } from "./search-state.ts";

/** How the result was found: by meaning, by the words, or both. */
export type MatchKind = "semantic" | "keyword" | "both";

export interface ScoreExplanation {
  kind: MatchKind;
  /** A few words for people ("close in meaning"). */
  summary: string;
  /** The number and what it is ("cosine similarity 0.62"). */
  detail: string;
  /** A semantic hit too far from the query to be an answer. */
  weak: boolean;
}

/** Cosine similarities from which a semantic hit reads as related, and as close. */
export const RELATED_SIMILARITY = 0.3;
export const CLOSE_SIMILARITY = 0.5;

export function explainScore(mode: SearchMode, score: number, sharesWords: boolean): ScoreExplanation {
  if (mode === "keyword") return { kind: "keyword", summary: "has the words", detail: `keyword rank ${score.toFixed(2)}`, weak: false };
  if (mode === "hybrid") {
    const detail = `fused rank ${score.toFixed(4)}`;
    return sharesWords
      ? { kind: "both", summary: "found by its words and its meaning", detail, weak: false }
      : { kind: "semantic", summary: "found by meaning, without the words", detail, weak: false };
  }
  const detail = `cosine similarity ${score.toFixed(2)}`;
  if (score >= CLOSE_SIMILARITY) return { kind: "semantic", summary: "close in meaning", detail, weak: false };
  if (score >= RELATED_SIMILARITY) return { kind: "semantic", summary: "related in meaning", detail, weak: false };
  return { kind: "semantic", summary: "weak match: only loosely related", detail, weak: true };
}
