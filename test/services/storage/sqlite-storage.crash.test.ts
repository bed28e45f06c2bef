/**
 * kill -9 at a random moment loses no acknowledged message and duplicates nothing.
 *
 * This file is also the child: forked with TGLENS_STORAGE_CRASH_DIR set, it opens the storage with
 * a small HNSW threshold and near-immediate saves (so kills land during saves too), upserts batches
 * forever and reports each batch to the parent only after upsert() returned. Every fourth batch
 * also edits the messages of the batch before it (version 2 vectors). The parent SIGKILLs it after
 * a random number of acknowledgements, reopens the storage and checks every acknowledged message.
 */
import assert from "node:assert/strict";
import { fork } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type { EmbeddedMessage } from "../../../services/common/schemas.ts";
import { DEFAULTS } from "../../../services/storage/defaults.ts";
import { openStorage } from "../../../services/storage/sqlite-storage.ts";
import type { StorageLogger } from "../../../services/storage/types.ts";
import { HnswIndex } from "../../../services/storage/vector-index.ts";
import { mulberry32 } from "../../helpers/random.ts";
import { embeddedRecord, T0 } from "../../helpers/records.ts";
import { scratchDirs } from "../../helpers/temp.ts";

const DIM = 384;
const CHAT = "-100777";
const BATCH = 8;
const OPTS = { hnswThreshold: 100, saveDebounceMs: 1, maxSaveDelayMs: 5 };

function unitVector(id: number, version: number): number[] {
  const random = mulberry32(id * 2654435761 + version * 40503 + 7);
  const v: number[] = [];
  for (let i = 0; i < DIM; i++) v.push(random() - 0.5);
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

function message(id: number, version: number): EmbeddedMessage {
  return embeddedRecord(CHAT, id, unitVector(id, version), {
    job_id: "crash",
    chat: { id: CHAT, name: "Crash", type: "private_group" },
    sender: { id: "user1", name: "A" },
    edited: version > 1 ? T0 + id + version : null,
    text: `crash test message ${id} version ${version}`,
  });
}

/** Batch b of a run starting at `start`: new ids, plus (every 4th batch) edits of batch b - 1. */
function plan(start: number, b: number): { fresh: number[]; edits: number[] } {
  const fresh = Array.from({ length: BATCH }, (_, i) => start + b * BATCH + i);
  const edits = b % 4 === 3 ? Array.from({ length: BATCH }, (_, i) => start + (b - 1) * BATCH + i) : [];
  return { fresh, edits };
}

async function child(dir: string, start: number): Promise<void> {
  const s = await openStorage({ dir, ...OPTS });
  for (let b = 0; ; b++) {
    const { fresh, edits } = plan(start, b);
    await s.upsert([...fresh.map((id) => message(id, 1)), ...edits.map((id) => message(id, 2))]);
    process.send!({ b });
    await new Promise((r) => setTimeout(r, 1 + (b % 3))); // let debounced saves run between batches
  }
}

const childDir = process.env.TGLENS_STORAGE_CRASH_DIR;
if (childDir !== undefined) {
  await child(childDir, Number(process.env.TGLENS_STORAGE_CRASH_START));
} else {
  const root = scratchDirs("crash")();

  /** Runs a child until it acknowledged `acks` batches, then SIGKILLs it. Returns the last acked batch. */
  async function runAndKill(dir: string, start: number, acks: number): Promise<number> {
    const env: NodeJS.ProcessEnv = { ...process.env, TGLENS_STORAGE_CRASH_DIR: dir, TGLENS_STORAGE_CRASH_START: String(start) };
    delete env.NODE_TEST_CONTEXT;
    const proc = fork(new URL(import.meta.url).pathname, [], { env, stdio: ["ignore", "ignore", "inherit", "ipc"] });
    let last = -1;
    const exited = new Promise<NodeJS.Signals | null>((resolve) => proc.on("exit", (_code, signal) => resolve(signal)));
    await new Promise<void>((resolve, reject) => {
      proc.on("message", (m: { b: number }) => {
        last = m.b;
        if (last + 1 >= acks) {
          proc.kill("SIGKILL");
          resolve();
        }
      });
      proc.on("exit", (code) => (last + 1 >= acks ? resolve() : reject(new Error(`child exited early (${code})`))));
    });
    assert.equal(await exited, "SIGKILL");
    return last;
  }

  test("kill -9 during upserts and saves loses no acknowledged message and duplicates nothing", async () => {
    const dir = join(root, "store");
    const acked = new Map<number, 1 | 2>(); // id -> version acknowledged
    const maybeEdited = new Set<number>(); // edits sent but not acknowledged
    const ackCounts = [23, 9, 31, 4, 17];
    const replayed: number[] = [];
    for (let round = 0; round < ackCounts.length; round++) {
      const start = 1 + round * 10_000;
      const last = await runAndKill(dir, start, ackCounts[round]!);
      for (let b = 0; b <= last; b++) {
        const { fresh, edits } = plan(start, b);
        for (const id of fresh) acked.set(id, 1);
        for (const id of edits) acked.set(id, 2);
      }
      // The batch in flight at the kill may or may not have committed.
      for (const id of plan(start, last + 1).edits) maybeEdited.add(id);

      const warnings: string[] = [];
      const loads: Record<string, unknown>[] = [];
      const log: StorageLogger = {
        debug() {},
        info: (o, m) => {
          if (m?.includes("chat index opened")) loads.push(o);
        },
        warn: (_o, m) => warnings.push(m ?? ""),
        error: (_o, m) => warnings.push(m ?? ""),
      };
      const s = await openStorage({ dir, ...OPTS, log });
      const total = (await s.stats()).messages;
      assert.ok(total >= acked.size, `round ${round}: ${total} rows < ${acked.size} acknowledged`);
      assert.ok(total <= acked.size + BATCH, `round ${round}: more rows than were ever sent`);
      for (const [id, version] of acked) {
        const versions = version === 1 && maybeEdited.has(id) ? [1, 2] : [version];
        let found = false;
        for (const v of versions) {
          const [top] = await s.searchSemantic(new Float32Array(unitVector(id, v)), 1, { chat: CHAT });
          found ||= top?.message_id === id && top.score > 0.9999;
        }
        assert.ok(found, `round ${round}: message ${id} (version ${version}) not found`);
      }
      const everything = await s.searchSemantic(new Float32Array(unitVector(1, 1)), 1000, {});
      assert.equal(everything.length, total);
      assert.equal(new Set(everything.map((h) => h.message_id)).size, total, "each message once");
      // Loading never had to fall back to a rebuild: the saved index was whole and consistent. (A kill
      // during a save leaves a temp file, which is only cleared: that warning is expected.)
      assert.deepEqual(
        warnings.filter((w) => !w.includes("temp files")),
        [],
        `round ${round}`,
      );
      await s.close();
      assert.equal(loads.length, 1);
      assert.equal(loads[0]!.how, "loaded");
      replayed.push(loads[0]!.replayed as number);

      // The index file written by close() holds exactly one entry per row.
      const side = JSON.parse(readFileSync(join(dir, "index", `${CHAT}.usearch.json`), "utf8")) as { size: number };
      const idx = new HnswIndex({ ...DEFAULTS.hnsw, quantization: DEFAULTS.quantization, threads: 1 });
      idx.load(join(dir, "index", `${CHAT}.usearch`));
      assert.equal(idx.size(), total);
      assert.equal(side.size, total);
    }
    // How many rows each reopen re-applied from SQLite (the writes after the last save).
    process.stderr.write(`# rows replayed on reopen after each kill: ${replayed.join(", ")}\n`);
  });
}
