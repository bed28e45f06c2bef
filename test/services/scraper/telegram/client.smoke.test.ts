/**
 * The one test that talks to Telegram itself: a short live read of TGLENS_SMOKE_CHAT through the
 * real GramJS client, twice (the second read may only bring newer messages). It runs only when
 * TELEGRAM_API_ID, TELEGRAM_API_HASH, a session (TELEGRAM_SESSION, or data/session from
 * `tglens login`) and TGLENS_SMOKE_CHAT are set, and otherwise is skipped saying what is missing.
 * Its data goes to a temporary directory; the session is only read.
 */
import { it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import path from "node:path";
import type { Delivery } from "../../../../services/common/bus.ts";
import { loadConfig, type Config } from "../../../../services/common/config.ts";
import { describeError } from "../../../../services/common/errors.ts";
import type { JobStatus } from "../../../../services/common/jobs.ts";
import { createLogger } from "../../../../services/common/logger.ts";
import { createMemoryBus } from "../../../../services/common/memory-bus.ts";
import { createScraper } from "../../../../services/scraper/index.ts";
import { missingTelegramSettings, readSavedSession } from "../../../../services/scraper/telegram/session.ts";
import { tempDir } from "../../../helpers/system.ts";

const LIMIT = 20;

async function smokeSetup(): Promise<{ config: Readonly<Config>; chat: string } | { skip: string }> {
  let config: Readonly<Config>;
  try {
    config = loadConfig();
  } catch (err) {
    return { skip: `the configuration is invalid: ${describeError(err).message}` };
  }
  let session = config.telegram.session;
  try {
    session ??= await readSavedSession(config.dataDir);
  } catch (err) {
    return { skip: describeError(err).message };
  }
  const missing = missingTelegramSettings(config.telegram, session !== undefined);
  const chat = process.env.TGLENS_SMOKE_CHAT;
  if (!chat) missing.push("TGLENS_SMOKE_CHAT");
  if (missing.length > 0)
    return { skip: `live smoke test skipped: set ${missing.join(", ")} to run it (the session may also come from \`tglens login\`)` };
  return { config: { ...config, telegram: { ...config.telegram, session } }, chat: chat! };
}

const setup = await smokeSetup();

it("reads a real chat live, then only what is newer", { skip: "skip" in setup ? setup.skip : false, timeout: 300_000 }, async () => {
  if ("skip" in setup) return;
  const root = await tempDir("smoke");
  const config: Readonly<Config> = { ...setup.config, dataDir: path.join(root, "data") };
  const bus = createMemoryBus();
  const scraper = await createScraper({ bus, log: createLogger({ level: "warn" }), config });
  const published: Delivery<"preprocess-topic">[] = [];
  await bus.subscribe("preprocess-topic", "smoke", async (batch) => void published.push(...batch), { batchSize: 1000 });
  await scraper.start();
  try {
    const read = async (): Promise<JobStatus> => {
      const res = await scraper.app.inject({ method: "POST", url: "/scrape", payload: { chat: setup.chat, limit: LIMIT } });
      assert.equal(res.statusCode, 202, res.body);
      const { job_id } = res.json() as { job_id: string };
      for (const deadline = Date.now() + 240_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 250))) {
        const job = (await scraper.app.inject({ method: "GET", url: `/jobs/${job_id}` })).json() as JobStatus;
        if (job.state === "failed") assert.fail(`the live read failed: ${job.error?.code} ${job.error?.message}`);
        if (job.expected !== null && job.counters.scraped >= job.expected) return job;
      }
      throw new Error("the live read did not finish in 4 minutes");
    };
    const first = await read();
    assert.ok(first.counters.scraped + first.counters.skipped >= 1, "the chat has messages");
    assert.ok(first.counters.scraped + first.counters.skipped <= LIMIT);
    assert.equal(first.chats.length, 1);
    await new Promise((r) => setTimeout(r, 200));
    const firstIds = published.map((d) => d.message.message_id);
    assert.deepEqual(
      firstIds,
      [...firstIds].sort((a, b) => a - b),
      "oldest first",
    );
    assert.ok(published.every((d) => d.message.chat.id === first.chats[0]!.id));

    await read();
    await new Promise((r) => setTimeout(r, 200));
    const newer = published.slice(firstIds.length).map((d) => d.message.message_id);
    assert.ok(
      newer.every((id) => id > Math.max(...firstIds)),
      "the second read brings only newer messages",
    );
  } finally {
    await scraper.stop();
    await bus.close();
    await fs.rm(root, { recursive: true, force: true });
  }
});
