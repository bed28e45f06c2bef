/**
 * Loading a chat's index after open: a saved HNSW index is loaded as it is (no rebuild) and gives
 * the answers it gave before; rows written after the last save are replayed from SQLite.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { openStorage } from "../../../services/storage/sqlite-storage.ts";
import type { Storage } from "../../../services/storage/types.ts";
import { scratchDirs } from "../../helpers/temp.ts";
import { batch, captureLog, ids, msg, sampleAnswers, T0, unit } from "./helpers.ts";

const tempDir = scratchDirs("chat-indexes");

describe("chat indexes: loading", () => {
  test("reopening after close gives identical results, without rebuilding", async () => {
    const dir = tempDir();
    const queries = (s: Storage) => sampleAnswers(s, "big", "small");
    const s1 = await openStorage({ dir, hnswThreshold: 100 });
    await s1.upsert(batch("big", 1, 500));
    await s1.upsert(batch("small", 1, 40));
    const before = await queries(s1);
    await s1.whenIdle();
    assert.deepEqual(await queries(s1), before); // the same results from HNSW as from the exact index
    await s1.close();
    const log = captureLog();
    const s2 = await openStorage({ dir, hnswThreshold: 100, log });
    assert.deepEqual(await queries(s2), before);
    const ready = log.lines.find((l) => l.msg?.includes("chat index opened"));
    assert.equal(ready?.obj.how, "loaded");
    assert.equal(ready?.obj.replayed, 0);
    await s2.close();
  });

  test("writes after the last save are replayed from SQLite on open", async () => {
    const dir = tempDir();
    const s1 = await openStorage({ dir, hnswThreshold: 50, saveDebounceMs: 3_600_000 });
    await s1.upsert(batch("r", 1, 100));
    await s1.whenIdle(); // the HNSW build, then the save
    await s1.upsert(batch("r", 101, 130));
    await s1.upsert([msg("r", 7, { text: "edited", clean_text: "edited", vector: unit(4242), edited: T0 + 1 })]);
    // s1 is abandoned without flush or close, as a crash would leave it.
    const log = captureLog();
    const s2 = await openStorage({ dir, hnswThreshold: 50, log });
    const ready = () => log.lines.find((l) => l.msg?.includes("chat index opened"));
    assert.equal((await s2.searchSemantic(new Float32Array(unit(4242)), 1, {}))[0]!.message_id, 7);
    assert.equal(ready()?.obj.how, "loaded");
    assert.equal(ready()?.obj.replayed, 31);
    const everything = await s2.searchSemantic(new Float32Array(unit(1)), 1000, {});
    assert.equal(everything.length, 130);
    assert.equal(new Set(ids(everything)).size, 130);
    for (const m of batch("r", 101, 130)) {
      assert.equal((await s2.searchSemantic(new Float32Array(m.vector), 1, {}))[0]!.message_id, m.message_id);
    }
    assert.ok(!log.lines.some((l) => l.level === "warn"));
    await s2.close();
  });
});
