/**
 * Each service owns its data, proven on five processes over a real Kafka broker this file starts
 * (scripts/kafka.sh on its own port, KAFKA_TEST_FORGET_PORT, default 19892, from empty state), each
 * process with a data directory of its own (test/helpers/distributed.ts), as on five hosts. Chats
 * are imported and searched; each service's files are in its own directory only; forgetting a chat
 * through the gateway reaches the scraper, the preprocessor and storage over control-topic, each
 * confirms what it removed, and afterwards no file in any of the five directories holds the chat's
 * text, name or raw and preprocessed files, while another chat is still found. A service that is
 * down when a chat is forgotten is named as pending (202), and forgets the chat once it is back.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import { chatFile, jobsDir } from "../../services/common/data-files.ts";
import { SERVICE_NAMES, type ServiceName } from "../../services/common/config.ts";
import { api, DistributedSystem, TestBroker, until } from "../helpers/distributed.ts";
import { exportOf, filesContaining, importExport, keywordHits } from "../helpers/forget.ts";

const broker = new TestBroker(Number(process.env.KAFKA_TEST_FORGET_PORT ?? 19892));

/** Words that occur nowhere else. */
const CANARY = "qorvexforgottencanary";
const KEEPER = "plimbarkeptkeeper";
const LATE = "zunderlatecanary";
const FORGOTTEN = { id: 888001, name: "Forgotten far chat" };
const KEPT = { id: 888002, name: "Kept far chat" };
/** Forgotten while the preprocessor is down. */
const LATER = { id: 888003, name: "Later far chat" };

/** What each service may keep in its data directory, at the top level. */
const OWNS: Record<ServiceName, readonly string[]> = {
  "telegram-bot": [],
  scraper: ["raw", "checkpoints", "parked", "uploads", "jobs", "session", "session.lock"],
  preprocessor: ["preprocessed"],
  embedder: [],
  storage: ["storage"],
};

/** A forget waits up to 30 s per step for a service that is down. */
const FORGET_TIMEOUT_MS = 120_000;

describe("distributed mode: each service owns its data, and forgets its own part of a chat", { timeout: 600_000 }, () => {
  let sys: DistributedSystem;
  let gateway: string;

  /** Every file under any of the five data directories that holds `needle`, as "<service>: <file>". */
  async function anywhere(needle: string): Promise<string[]> {
    const found: string[] = [];
    for (const name of SERVICE_NAMES) found.push(...(await filesContaining(sys.dataDirOf(name), needle)).map((f) => `${name}: ${f}`));
    return found;
  }

  before(async () => {
    await broker.startFresh();
    sys = await DistributedSystem.start(broker.brokers, { TGLENS_MODEL_VARIANT: process.env.FORGET_TEST_MODEL_VARIANT ?? "int8" });
    gateway = sys.gateway;
    await importExport(gateway, sys.importDir, "upload", "forgotten.json", exportOf(FORGOTTEN.id, FORGOTTEN.name, CANARY, 400));
    await importExport(gateway, sys.importDir, "path", "kept.json", exportOf(KEPT.id, KEPT.name, KEEPER, 200));
    await importExport(gateway, sys.importDir, "path", "later.json", exportOf(LATER.id, LATER.name, LATE, 100));
  });

  after(async () => {
    await sys?.close(process.env.FORGET_TEST_KEEP_FILES === "1");
    await broker.stop();
  });

  it("keeps each service's files in its own data directory, none in another's", async () => {
    for (const name of SERVICE_NAMES) {
      const entries = await fs.readdir(sys.dataDirOf(name)).catch(() => [] as string[]);
      for (const entry of entries) assert.ok(OWNS[name].includes(entry), `${name} keeps ${entry}`);
    }
    assert.ok(existsSync(chatFile(sys.dataDirOf("scraper"), "raw", String(FORGOTTEN.id))));
    assert.ok(existsSync(chatFile(sys.dataDirOf("preprocessor"), "preprocessed", String(FORGOTTEN.id))));
    assert.equal((await keywordHits(gateway, CANARY)).length, 80);
    const holders = (await anywhere(CANARY)).map((f) => f.split(":")[0]);
    assert.deepEqual([...new Set(holders)].sort(), ["preprocessor", "scraper", "storage"]);
  });

  it("forgets a chat through the gateway: each service confirms, and no file in any of the five directories holds it", async () => {
    const res = await api(gateway, "DELETE", `/api/chats/${FORGOTTEN.id}`, undefined, FORGET_TIMEOUT_MS);
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.equal(res.json.deleted, true);
    assert.equal(res.json.messages, 400);
    assert.deepEqual(res.json.pending, []);
    const { scraper, preprocessor, storage } = res.json.services;
    assert.deepEqual([scraper.raw_files, scraper.jobs, preprocessor.files, storage.messages], [1, 1, 1, 400], JSON.stringify(res.json));

    assert.deepEqual(await anywhere(CANARY), []);
    assert.deepEqual(await anywhere(FORGOTTEN.name), []);
    assert.deepEqual(await filesContaining(jobsDir(sys.dataDirOf("scraper")), String(FORGOTTEN.id)), [], "the job book names it no more");
    for (const name of SERVICE_NAMES) {
      for (const kind of ["raw", "preprocessed"] as const) {
        assert.equal(existsSync(chatFile(sys.dataDirOf(name), kind, String(FORGOTTEN.id))), false, `${name}: ${kind} file`);
      }
    }
    assert.deepEqual(await keywordHits(gateway, CANARY), []);
    assert.equal((await api(gateway, "GET", `/api/chats/${FORGOTTEN.id}`)).status, 404);
    assert.equal((await api(gateway, "DELETE", `/api/chats/${FORGOTTEN.id}`)).status, 404, "forgotten once, unknown after");
  });

  it("still finds the other chats, with their files where they were", async () => {
    const hits = await keywordHits(gateway, KEEPER);
    assert.equal(hits.length, 40);
    assert.ok(hits.every((h) => h.chat_id === String(KEPT.id)));
    assert.ok(existsSync(chatFile(sys.dataDirOf("scraper"), "raw", String(KEPT.id))));
    assert.ok(existsSync(chatFile(sys.dataDirOf("preprocessor"), "preprocessed", String(KEPT.id))));
  });

  it("names a service that is down as pending (202), and that service forgets the chat once it is back", async () => {
    const stopped = await sys.proc("preprocessor").term();
    assert.equal(stopped.code, 0, JSON.stringify(stopped));
    const res = await api(gateway, "DELETE", `/api/chats/${LATER.id}`, undefined, FORGET_TIMEOUT_MS);
    assert.equal(res.status, 202, JSON.stringify(res.json));
    assert.equal(res.json.deleted, false);
    assert.deepEqual(res.json.pending, ["preprocessor"]);
    assert.deepEqual(Object.keys(res.json.services).sort(), ["scraper", "storage"]);
    // Storage forgot it all the same: it is not found, and only the preprocessor's file is left.
    assert.deepEqual(await keywordHits(gateway, LATE), []);
    assert.deepEqual(await anywhere(LATE), [`preprocessor: preprocessed/${LATER.id}.jsonl`]);

    await sys.restart("preprocessor");
    await until("the restarted preprocessor to forget the chat", async () => (await anywhere(LATE)).length === 0, 60_000, 200);
    assert.deepEqual(await anywhere(LATER.name), []);
    assert.ok(existsSync(chatFile(sys.dataDirOf("preprocessor"), "preprocessed", String(KEPT.id))), "the other chat's file stays");
  });
});
