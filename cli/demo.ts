/**
 * On the first start of `tglens serve`, import a bundled demo chat so that a search answers at
 * once. A marker file remembers it was done, so forgetting the demo chat makes it stay forgotten.
 * TGLENS_DEMO=0 turns this off.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Config } from "../services/common/config.ts";
import type { Logger } from "../services/common/logger.ts";
import type { GatewayClient } from "./client.ts";

export const DEMO_EXPORT = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "demo", "result.json");

export async function importDemoOnFirstStart(config: Readonly<Config>, client: GatewayClient, log: Logger): Promise<void> {
  const marker = path.join(config.dataDir, ".demo-imported");
  try {
    await fs.access(marker);
    return;
  } catch {
    // first start
  }
  try {
    const accepted = await client.importFile(DEMO_EXPORT);
    log.info({ job_id: accepted.job_id, messages: accepted.messages }, "importing the demo chat (TGLENS_DEMO=0 turns this off)");
    const job = await client.waitForJob(accepted.job_id, () => {}, 500);
    await fs.mkdir(config.dataDir, { recursive: true });
    await fs.writeFile(marker, `${new Date().toISOString()} ${job.job_id}\n`);
    log.info({ job_id: job.job_id, state: job.state, indexed: job.counters.stored }, "demo chat ready: try GET /api/search?q=...");
  } catch (err) {
    log.warn({ err }, "could not import the demo chat");
  }
}
