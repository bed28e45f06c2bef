/**
 * The background exact → HNSW switch: searches stay exact and correct while a chat crosses the
 * threshold, changes made during the build end up in the HNSW index, and close() does not wait
 * for a build (the next open rebuilds).
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { EmbeddedMessage } from "../../../services/common/schemas.ts";
import { openStorage } from "../../../services/storage/sqlite-storage.ts";
import { scratchDirs } from "../../helpers/temp.ts";
import { batch, bruteForce, captureLog, ids, msg, near, T0, unit } from "./helpers.ts";

const tempDir = scratchDirs("hnsw-build");

describe("background HNSW build", () => {
  test("a chat crossing the HNSW threshold keeps returning correct results", async () => {
    const dir = tempDir();
    const log = captureLog();
    const s = await openStorage({ dir, hnswThreshold: 64, log, saveDebounceMs: 5 });
    const all: EmbeddedMessage[] = [];
    for (let start = 1; start <= 400; start += 16) {
      const b = batch("grow", start, start + 15);
      all.push(...b);
      await s.upsert(b);
      // Past the threshold the HNSW index is built in the background; searches stay exact meanwhile.
      if (start % 64 === 1) await new Promise((r) => setImmediate(r));
      for (const probe of [all[0]!, all[Math.floor(all.length / 2)]!, all[all.length - 1]!]) {
        const [top] = await s.searchSemantic(new Float32Array(near(probe.vector, 0.1, start)), 1, { chat: "grow" });
        assert.equal(top!.message_id, probe.message_id, `after ${all.length} messages`);
      }
      const top10 = await s.searchSemantic(new Float32Array(unit(start)), 10, {});
      assert.deepEqual(ids(top10), bruteForce(unit(start), all, 10), `after ${all.length} messages`);
    }
    await new Promise((r) => setTimeout(r, 50)); // the rest of the build and the debounced save
    assert.equal(log.lines.filter((l) => l.msg?.includes("switched to HNSW")).length, 1);
    assert.ok(existsSync(join(dir, "index", "grow.usearch")));
    await s.close();
  });

  test("changes that arrive while the HNSW index is being built end up in it", async () => {
    const log = captureLog();
    const s = await openStorage({ dir: tempDir(), hnswThreshold: 50, log });
    await s.upsert(batch("b", 1, 3000));
    await new Promise((r) => setImmediate(r)); // one slice of the background build
    const edits = [1, 1500, 3000].map((id) => msg("b", id, { vector: unit(id + 70_000), edited: T0 + 5 }));
    await s.upsert([...edits, ...batch("b", 3001, 3010)]);
    for (const e of edits) assert.equal((await s.searchSemantic(new Float32Array(e.vector), 1, {}))[0]!.message_id, e.message_id);
    await s.whenIdle(); // completes the build
    assert.equal(log.lines.filter((l) => l.msg?.includes("switched to HNSW")).length, 1);
    for (const e of edits) {
      const [top] = await s.searchSemantic(new Float32Array(e.vector), 1, {});
      assert.equal(top!.message_id, e.message_id);
      assert.ok(top!.score > 0.99999);
      assert.notEqual((await s.searchSemantic(new Float32Array(msg("b", e.message_id).vector), 1, {}))[0]!.message_id, e.message_id);
    }
    for (const m of batch("b", 3001, 3010)) {
      assert.equal((await s.searchSemantic(new Float32Array(m.vector), 1, {}))[0]!.message_id, m.message_id);
    }
    const everything = await s.searchSemantic(new Float32Array(unit(1)), 1000, { from: T0 + 2500 * 60 });
    assert.equal(everything.length, 511);
    await s.close();
  });

  test("close() does not wait for a background build; the next open rebuilds", async () => {
    const dir = tempDir();
    const s1 = await openStorage({ dir, hnswThreshold: 50 });
    await s1.upsert(batch("u", 1, 2000));
    await s1.close();
    const log = captureLog();
    const s2 = await openStorage({ dir, hnswThreshold: 50, log });
    const m = msg("u", 1234);
    assert.equal((await s2.searchSemantic(new Float32Array(m.vector), 1, {}))[0]!.message_id, 1234);
    assert.equal(log.lines.find((l) => l.msg?.includes("chat index opened"))?.obj.how, "rebuilding");
    await s2.whenIdle();
    assert.equal((await s2.searchSemantic(new Float32Array(m.vector), 1, {}))[0]!.message_id, 1234);
    assert.equal((await s2.searchSemantic(new Float32Array(unit(1)), 1000, { from: T0 + 1001 * 60 })).length, 1000);
    await s2.close();
  });
});
