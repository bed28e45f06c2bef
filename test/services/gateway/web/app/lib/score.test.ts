/** A result's score in words, by mode. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { CLOSE_SIMILARITY, explainScore, RELATED_SIMILARITY } from "../../../../../../services/gateway/web/app/lib/score.ts";

describe("web app: score explained", () => {
  it("reads a cosine similarity as close, related or weak", () => {
    assert.deepEqual(explainScore("semantic", 0.62, false), {
      kind: "semantic",
      summary: "close in meaning",
      detail: "cosine similarity 0.62",
      weak: false,
    });
    assert.equal(explainScore("semantic", CLOSE_SIMILARITY - 0.01, true).summary, "related in meaning");
    const weak = explainScore("semantic", RELATED_SIMILARITY - 0.01, false);
    assert.equal(weak.weak, true);
    assert.match(weak.summary, /^weak match/);
  });

  it("says a keyword hit has the words", () => {
    assert.deepEqual(explainScore("keyword", 5.9, true), { kind: "keyword", summary: "has the words", detail: "keyword rank 5.90", weak: false });
  });

  it("says a hybrid hit was found by both when it has the words, else by meaning", () => {
    assert.equal(explainScore("hybrid", 0.0309, true).kind, "both");
    assert.equal(explainScore("hybrid", 0.0164, false).kind, "semantic");
    assert.equal(explainScore("hybrid", 0.0164, false).weak, false, "a fused rank says nothing of strength");
  });
});
