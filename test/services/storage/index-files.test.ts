/**
 * Index files: names safe for any chat id, and a corrupt or foreign index file (another
 * generation of the chat) is never trusted: the index is rebuilt from SQLite; stray and
 * half-written files are removed on open.
 */
import assert from "node:assert/strict";
import { copyFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { chatFileStem } from "../../../services/storage/index-files.ts";
import { openStorage } from "../../../services/storage/sqlite-storage.ts";
import { scratchDirs } from "../../helpers/temp.ts";
import { batch, captureLog, unit } from "./helpers.ts";

const tempDir = scratchDirs("index-files");

describe("index files", () => {
  test("a chat id becomes a file name of safe characters, one per id", () => {
    const idList = ["-1001234", "42", "a/b", "a%2Fb", "..", "ключ", "", "a b"];
    const stems = idList.map(chatFileStem);
    assert.equal(new Set(stems).size, idList.length);
    for (const s of stems) assert.match(s, /^[A-Za-z0-9_%-]*$/);
    assert.equal(chatFileStem("-1001234"), "-1001234");
  });

  test("a corrupt or foreign index file is rebuilt from SQLite; stray files are removed", async () => {
    const dir = tempDir();
    const s1 = await openStorage({ dir, hnswThreshold: 50 });
    await s1.upsert(batch("c", 1, 200));
    await s1.whenIdle();
    await s1.close();
    const file = join(dir, "index", "c.usearch");
    copyFileSync(file, join(dir, "old.usearch"));
    copyFileSync(`${file}.json`, join(dir, "old.usearch.json"));
    writeFileSync(file, "garbage");
    writeFileSync(join(dir, "index", "zzz.usearch"), "orphan");
    writeFileSync(join(dir, "index", "c.usearch.tmp-123"), "half-written");

    let log = captureLog();
    const s2 = await openStorage({ dir, hnswThreshold: 50, log });
    assert.deepEqual(readdirSync(join(dir, "index")).sort(), ["c.usearch", "c.usearch.json"]);
    assert.equal((await s2.searchSemantic(new Float32Array(unit(100_005)), 1, {}))[0]!.message_id, 5); // chat "c": seed id + 100000
    assert.equal(log.lines.find((l) => l.msg?.includes("chat index opened"))?.obj.how, "rebuilding");
    // The chat is deleted and re-created; the old generation's files are put back by hand.
    await s2.deleteChat("c");
    await s2.upsert(batch("c", 1, 60).map((m) => ({ ...m, vector: unit(m.message_id + 900_000) })));
    await s2.whenIdle();
    await s2.close();
    copyFileSync(join(dir, "old.usearch"), file);
    copyFileSync(join(dir, "old.usearch.json"), `${file}.json`);
    log = captureLog();
    const s3 = await openStorage({ dir, hnswThreshold: 50, log });
    const [top] = await s3.searchSemantic(new Float32Array(unit(900_005)), 1, {});
    assert.equal(top!.message_id, 5);
    assert.ok(top!.score > 0.99999);
    assert.equal(log.lines.find((l) => l.msg?.includes("chat index opened"))?.obj.how, "rebuilding");
    assert.equal((await s3.searchSemantic(new Float32Array(unit(1)), 1000, {})).length, 60);
    await s3.whenIdle();
    assert.equal(log.lines.filter((l) => l.msg?.includes("switched to HNSW")).length, 1);
    assert.equal((await s3.searchSemantic(new Float32Array(unit(900_005)), 1, {}))[0]!.message_id, 5);
    await s3.close();
  });
});
