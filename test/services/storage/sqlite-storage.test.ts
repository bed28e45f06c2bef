/**
 * The SQLite + usearch backend: the storage contract with exact search, with HNSW (a small
 * threshold) and with HNSW filters over-fetched from the index; then what only this backend has:
 * its files on disk after a deletion, bad options, negative ids across the exact/HNSW switch, and
 * HNSW indexes built on one thread (usearch's concurrent insertion strands vectors no search finds).
 */
import assert from "node:assert/strict";
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import usearch from "usearch";
import { chatFileStem } from "../../../services/storage/index-files.ts";
import { openDatabase, prepareRetained } from "../../../services/storage/message-store.ts";
import { openStorage, type StorageHandle } from "../../../services/storage/sqlite-storage.ts";
import type { StorageOptions } from "../../../services/storage/types.ts";
import { rejectsWith } from "../../helpers/errors.ts";
import { scratchDirs } from "../../helpers/temp.ts";
import { DIM, batch, msg, T0, unit } from "./helpers.ts";
import { storageContract, type StorageContractTarget } from "./storage-contract.ts";

const tempDir = scratchDirs("sqlite-storage");

function sqliteTarget(options: Omit<StorageOptions, "dir">): () => Promise<StorageContractTarget<StorageHandle>> {
  return async () => {
    const dir = tempDir();
    return {
      // No timed save while a test runs: what reaches the index files is what flush() and close() write.
      open: () => openStorage({ dir, saveDebounceMs: 3_600_000, ...options }),
      // A crashed process neither flushes nor closes; the abandoned handle's timers never fire.
      crash: async () => {},
      idle: (s) => s.whenIdle(),
      destroy: async () => rmSync(dir, { recursive: true, force: true }),
    };
  };
}

storageContract("SQLite + usearch, exact search", sqliteTarget({}));
storageContract("SQLite + usearch, HNSW", sqliteTarget({ hnswThreshold: 16 }));
storageContract("SQLite + usearch, HNSW, filters over-fetched from the index", sqliteTarget({ hnswThreshold: 16, exactFilterMax: 0 }));

describe("SQLite + usearch storage", () => {
  test("the HNSW contract target does run on HNSW indexes once idle", async () => {
    const t = await sqliteTarget({ hnswThreshold: 16 })();
    const s = await t.open();
    await s.upsert(batch("A", 1, 40));
    assert.equal((await s.stats()).indexBytes, 0, "exact while the build runs in the background");
    await t.idle(s);
    assert.ok((await s.stats()).indexBytes > 0, "an HNSW index file once idle");
    await s.close();
    await t.destroy();
  });

  test("bad input is refused with a code and writes nothing", async () => {
    const s = await openStorage({ dir: tempDir() });
    await rejectsWith(s.upsert([msg("1", 1), msg("1", 2, { vector: [1, 2, 3] })]), "TGLENS_SCHEMA");
    await rejectsWith(s.upsert([msg("1", 1, { vector: new Array(DIM).fill(0) })]), "TGLENS_SCHEMA");
    await rejectsWith(s.upsert([msg("1", 2 ** 52)]), "TGLENS_SCHEMA");
    await rejectsWith(s.upsert([msg("1", 5, { date: 8_640_000_000_001 })]), "TGLENS_SCHEMA");
    await rejectsWith(s.upsert([msg("1", 5, { date: -1 })]), "TGLENS_SCHEMA");
    assert.equal((await s.stats()).messages, 0);
    await s.upsert([msg("1", 1)]);
    await rejectsWith(s.searchSemantic(new Float32Array(10), 5, {}), "TGLENS_BAD_REQUEST");
    await rejectsWith(s.searchSemantic(new Float32Array(unit(1)), 0, {}), "TGLENS_BAD_REQUEST");
    await rejectsWith(s.searchKeyword("x", 5, { from: Number.NaN }), "TGLENS_BAD_REQUEST");
    assert.deepEqual(await s.upsert([]), { inserted: 0, updated: 0, unchanged: 0 });
    await s.close();
    await rejectsWith(s.stats(), "TGLENS_NOT_READY");
    await rejectsWith(s.upsert([msg("1", 2)]), "TGLENS_NOT_READY");
    await rejectsWith(s.whenIdle(), "TGLENS_NOT_READY");
    await s.close(); // twice is fine
  });

  test("bad options are refused with TGLENS_CONFIG", async () => {
    await rejectsWith(openStorage({ dir: tempDir(), hnswThreshold: 0 }), "TGLENS_CONFIG");
    await rejectsWith(openStorage({ dir: tempDir(), quantization: "f8" as never }), "TGLENS_CONFIG");
  });

  test("chats() summarises, deleteChat removes rows, FTS rows and index files", async () => {
    const dir = tempDir();
    const s = await openStorage({ dir, hnswThreshold: 50 });
    await s.upsert(batch("-1001", 1, 120)); // HNSW
    await s.upsert(batch("2", 1, 10)); // exact
    await s.upsert([{ ...msg("2", 11), chat: { id: "2", name: "Renamed", type: "personal_chat" }, sender: { id: null, name: "Ghost" } }]);
    await s.whenIdle();
    const files = readdirSync(join(dir, "index"));
    assert.deepEqual(files.sort(), [`${chatFileStem("-1001")}.usearch`, `${chatFileStem("-1001")}.usearch.json`]);
    assert.ok((await s.stats()).indexBytes > 0);
    assert.deepEqual(await s.chat("2"), {
      chat_id: "2",
      name: "Renamed",
      type: "personal_chat",
      username: null,
      messages: 11,
      senders: 4,
      first_date: T0 + 60,
      last_date: T0 + 11 * 60,
    });
    // Ordered by name: "Chat -1001" before "Renamed".
    assert.deepEqual(
      (await s.chats()).map((c) => [c.chat_id, c.messages]),
      [
        ["-1001", 120],
        ["2", 11],
      ],
    );
    assert.equal(await s.chat("nope"), undefined);

    assert.equal(await s.deleteChat("-1001"), true);
    assert.equal(await s.deleteChat("-1001"), false);
    assert.deepEqual(readdirSync(join(dir, "index")), []);
    assert.equal(await s.chat("-1001"), undefined);
    assert.deepEqual(await s.stats(), { chats: 1, messages: 11, indexBytes: 0 });
    assert.equal((await s.searchKeyword("word7", 10, {})).length, 1); // only chat 2's
    assert.ok((await s.searchSemantic(new Float32Array(unit(1)), 100, {})).every((h) => h.chat_id === "2"));
    // A chat re-created under the same id starts clean.
    await s.upsert(batch("-1001", 1, 3));
    assert.equal((await s.chat("-1001"))!.messages, 3);
    await s.close();

    const db = openDatabase(join(dir, "messages.db"));
    db.exec("INSERT INTO messages_fts(messages_fts) VALUES ('integrity-check')"); // throws if FTS drifted
    assert.equal(prepareRetained(db, "SELECT count(*) FROM messages_fts_docsize").pluck().get(), 14);
    db.close();
  });

  test("HNSW indexes are built on one thread: usearch's concurrent add can strand a vector (unum-cloud/USearch#735)", async () => {
    // Every usearch add the storage makes, and the threads it asked for: the build, a big upsert
    // that grows the index, a replay after a reopen, an upsert into the loaded index.
    const proto = usearch.Index.prototype;
    const realAdd = proto.add;
    const threads: number[] = [];
    proto.add = function (this: InstanceType<typeof usearch.Index>, ...args: Parameters<typeof realAdd>) {
      threads.push(args[2] ?? 0);
      return realAdd.apply(this, args);
    };
    try {
      const dir = tempDir();
      let s = await openStorage({ dir, hnswThreshold: 16, saveDebounceMs: 3_600_000 });
      await s.upsert(batch("t", 1, 100));
      await s.whenIdle();
      await s.upsert(batch("t", 101, 400));
      await s.flush();
      await s.upsert(batch("t", 401, 700)); // crashed: replayed on open
      s = await openStorage({ dir, hnswThreshold: 16 });
      await s.upsert(batch("t", 701, 1000));
      assert.equal((await s.searchSemantic(msg("t", 650).vector, 1, {}))[0]!.message_id, 650);
      await s.close();
    } finally {
      proto.add = realAdd;
    }
    assert.ok(threads.length >= 5, `${threads.length} adds`);
    assert.deepEqual([...new Set(threads)], [1]);
  });

  test("every message of a freshly built HNSW index finds itself, build after build", async () => {
    // With ef_search above the chat's size, a k=1 search of a stored vector is exact unless the
    // vector is stranded (linked from nowhere), which concurrent insertion did in many of these builds.
    for (let round = 0; round < 20; round++) {
      const dir = tempDir();
      const s = await openStorage({ dir, hnswThreshold: 16, saveDebounceMs: 3_600_000 });
      const all = batch(`r${round}`, 1, 60);
      await s.upsert(all);
      await s.whenIdle();
      for (const m of all) {
        const [top] = await s.searchSemantic(m.vector, 1, {});
        assert.equal(top!.message_id, m.message_id, `round ${round}: message ${m.message_id} finds itself`);
      }
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const threshold of [10_000, 50]) {
    test(`negative message ids are stored and found beside positive ids, ${threshold === 50 ? "HNSW" : "exact"}, across a reopen`, async () => {
      const dir = tempDir();
      const all = batch("m", -60, 60);
      let s = await openStorage({ dir, hnswThreshold: threshold });
      assert.deepEqual(await s.upsert(all), { inserted: 121, updated: 0, unchanged: 0 });
      await s.whenIdle();
      for (let round = 0; round < 2; round++) {
        assert.equal((await s.chat("m"))!.messages, 121);
        for (const m of all) {
          const [top] = await s.searchSemantic(new Float32Array(m.vector), 1, {});
          assert.equal(top!.message_id, m.message_id, `message ${m.message_id} finds itself (round ${round})`);
          assert.ok(top!.score > 0.999);
        }
        // -1 and 1 are two messages, each with its own text and vector.
        const [minusOne] = await s.searchSemantic(new Float32Array(unit(-1 + 100_000)), 1, { chat: "m" });
        assert.equal(minusOne!.message_id, -1);
        assert.match(minusOne!.text, /^message -1 /);
        await s.close();
        s = await openStorage({ dir, hnswThreshold: threshold });
      }
      await s.close();
    });
  }
});
