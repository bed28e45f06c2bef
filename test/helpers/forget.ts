/**
 * What the forget tests share (embedded: test/e2e/forget.test.ts; five processes:
 * test/e2e/distributed-forget.kafka.test.ts; one service: its own test): exports with a word found nowhere
 * else, an import through the gateway followed to its end, keyword hits, the files under a directory
 * that hold a needle, and a forget asked on a bus with the answer one service gives.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import type { Bus } from "../../services/common/bus.ts";
import type { ControlMessage, ForgettingService } from "../../services/common/schemas.ts";
import { api } from "./distributed.ts";

export type ForgetAnswerMessage = Exclude<ControlMessage, { kind: "forget" }>;

/** Asks on control-topic to forget `chatId` (as the gateway does) and resolves with `service`'s answer. */
export async function askToForget(
  bus: Bus,
  service: ForgettingService,
  chatId: string,
  requestId: string = randomUUID(),
): Promise<ForgetAnswerMessage> {
  let answered!: (m: ForgetAnswerMessage) => void;
  const answer = new Promise<ForgetAnswerMessage>((resolve) => (answered = resolve));
  const subscription = await bus.subscribe("control-topic", `test-answers-${requestId}`, async (batch) => {
    for (const { message } of batch)
      if (message.kind !== "forget" && message.request_id === requestId && message.service === service) answered(message);
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await bus.publish("control-topic", { v: 1, kind: "forget", request_id: requestId, chat_id: chatId }, { key: chatId });
    const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${service} did not answer the forget`)), 10_000)));
    return await Promise.race([answer, late]);
  } finally {
    clearTimeout(timer);
    await subscription.close();
  }
}

/** A Telegram Desktop single-chat export of `count` messages, `word` in every fifth one. */
export function exportOf(id: number, name: string, word: string, count: number) {
  const t0 = 1_704_000_000;
  return {
    name,
    type: "private_group",
    id,
    messages: Array.from({ length: count }, (_, i) => ({
      id: i + 1,
      type: "message",
      date: new Date((t0 + i * 60) * 1000).toISOString().slice(0, 19),
      date_unixtime: String(t0 + i * 60),
      from: `Person ${i % 7}`,
      from_id: `user${1000 + (i % 7)}`,
      text: i % 5 === 0 ? `message ${i} says ${word} about the plan for day ${i}` : `message ${i} is about the plan for day ${i} in ${name}`,
    })),
  };
}

/**
 * Imports an export through the gateway at `base`: sent as the request body (kept in the scraper's
 * data/uploads while it is read), or by its path in `importDir`; waits until the job is done.
 */
export async function importExport(base: string, importDir: string, how: "upload" | "path", file: string, data: unknown): Promise<void> {
  if (how === "path") await fs.writeFile(path.join(importDir, file), JSON.stringify(data));
  const res = await api(base, "POST", "/api/scrape", how === "upload" ? data : { export_path: file });
  assert.equal(res.status, 202, JSON.stringify(res.json));
  const deadline = Date.now() + 120_000;
  for (;;) {
    const { json } = await api(base, "GET", `/api/jobs/${res.json.job_id}`);
    if (json.state !== "running") return assert.equal(json.state, "done", JSON.stringify(json));
    if (Date.now() > deadline) assert.fail(`job still running: ${JSON.stringify(json)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function keywordHits(base: string, word: string): Promise<any[]> {
  const { status, json } = await api(base, "GET", `/api/search?${new URLSearchParams({ q: word, mode: "keyword", k: "100" })}`);
  assert.equal(status, 200, JSON.stringify(json));
  return json.results;
}

/** Every file under `dir` (recursively) whose bytes contain `needle`; none when `dir` does not exist. */
export async function filesContaining(dir: string, needle: string): Promise<string[]> {
  const found: string[] = [];
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return [];
    throw err;
  });
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    if ((await fs.readFile(file)).includes(Buffer.from(needle, "utf8"))) found.push(path.relative(dir, file));
  }
  return found;
}
