/**
 * The CLI as a person runs it: a child process, its stdout, stderr and exit status. Against a
 * running server (through its HTTP API), and on its own (it starts the pipeline itself).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import path from "node:path";
import type { ChatStatsRow } from "../../cli/client.ts";
import { SERVICE_NAMES } from "../../services/common/config.ts";
import { freePort, snapshotDir, startTestSystem, tempDir, type TestSystem } from "../helpers/system.ts";

const TEAM = path.resolve("test/fixtures/exports/team-chat/result.json");
const TEAM_ID = "1498765432";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function tglens(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      "bin/tglens",
      args,
      { env: { PATH: process.env.PATH!, HOME: process.env.HOME!, ...env }, timeout: 300_000, maxBuffer: 16 * 2 ** 20 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe("tglens CLI against a running server", { timeout: 600_000 }, () => {
  let t: TestSystem;
  let env: Record<string, string>;
  before(async () => {
    t = await startTestSystem();
    env = { TGLENS_URL: t.url, TGLENS_DATA_DIR: t.config.dataDir };
  });
  after(async () => {
    await t?.close();
  });

  it("imports with a summary the server sees at once", async () => {
    const run = await tglens(["import", TEAM], env);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /imported: 1 chat/);
    assert.match(run.stdout, /messages: 390, skipped \(service\): 13, indexed: 366, empty after cleaning: 24, failed: 0/);
    const chats = (await (await fetch(`${t.url}/api/chats`)).json()) as { chats: { chat_id: string; messages: number }[] };
    assert.equal(chats.chats.find((c) => c.chat_id === TEAM_ID)?.messages, 366);
  });

  it("searches, as text and as JSON", async () => {
    const text = await tglens(["search", "where is the party venue", "--k", "3"], env);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /brewery/);
    const json = await tglens(["search", "сантехника", "--mode", "keyword", "--json"], env);
    assert.equal(json.code, 0, json.stderr);
    const parsed = JSON.parse(json.stdout) as { results: { message_id: number }[] };
    assert.equal(parsed.results[0]?.message_id, 53);
  });

  it("lists chats", async () => {
    const run = await tglens(["chats"], env);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`${TEAM_ID}\\s+366\\s+`));
  });

  it("shows a chat's statistics by name or id: what the API answers, as JSON and as text", async () => {
    const api = (await (await fetch(`${t.url}/api/chats/${TEAM_ID}/stats`)).json()) as ChatStatsRow;
    const json = await tglens(["stats", "Kreuzberg Crew 🍻", "--json"], env);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), api);
    assert.equal(api.messages, 366);
    assert.equal(api.top_senders.length, 5);
    const text = await tglens(["stats", TEAM_ID], env);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`^Kreuzberg Crew 🍻 · chat ${TEAM_ID} · private_supergroup\n`));
    assert.match(text.stdout, new RegExp(`\n366 +${api.senders} +2024-01-`));
    const top = api.top_senders[0]!;
    assert.match(text.stdout, new RegExp(`most active senders\nmessages +id +sender\n${top.messages} +${top.sender_id} +${top.sender}\n`));
    for (const m of api.by_month) assert.match(text.stdout, new RegExp(`\n${m.month} +${m.messages}\\b`));
  });

  it("refuses bad input with one line and a non-zero exit, changing nothing", async () => {
    const before = await snapshotDir(t.config.dataDir);
    const dir = await tempDir("cli-bad");
    const notExport = path.join(dir, "not-export.json");
    await fs.writeFile(notExport, JSON.stringify({ hello: "world" }));
    const cases: [string[], RegExp][] = [
      [["import", path.join(dir, "missing.json")], /no such file.*\(TGLENS_NOT_FOUND\)/],
      [["import", notExport], /not a Telegram.*\(TGLENS_NOT_AN_EXPORT\)|TGLENS_NOT_AN_EXPORT/],
      [["search", "x", "--k", "0"], /--k must be an integer from 1 to 100/],
      [["search", "x", "--mode", "fuzzy"], /fuzzy/],
      [["forget", "No Such Chat"], /no chat named "No Such Chat"/],
      [["stats", "No Such Chat"], /no chat named "No Such Chat" \(TGLENS_NOT_FOUND\)/],
      [["stats", "777"], /no chat 777 \(TGLENS_NOT_FOUND\)/],
      // A chat to read live, on a server without Telegram credentials: the missing variables, by name.
      [["import", "@some_public_group"], /TELEGRAM_API_ID and TELEGRAM_API_HASH are not set.*\(TGLENS_TELEGRAM_NOT_CONFIGURED\)/],
      [["import", "https://t.me/some_public_group", "--limit", "0"], /--limit must be an integer/],
    ];
    for (const [args, pattern] of cases) {
      const run = await tglens(args, env);
      assert.notEqual(run.code, 0, args.join(" "));
      assert.match(run.stderr, pattern, args.join(" "));
      assert.equal(run.stderr.trim().split("\n")[0]!.startsWith("tglens: "), true, run.stderr);
      assert.equal(run.stdout, "");
    }
    assert.deepEqual(await snapshotDir(t.config.dataDir), before);
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("forgets a chat by name", async () => {
    const run = await tglens(["forget", "Kreuzberg Crew 🍻"], env);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /forgot chat 1498765432 \(366 messages\)/);
    const again = await tglens(["chats"], env);
    assert.match(again.stdout, /no chats indexed/);
  });
});

describe("tglens CLI on its own", { timeout: 600_000 }, () => {
  it("runs the pipeline itself when no server answers, and reports a bad config at once", async () => {
    const root = await tempDir("cli-local");
    const env: Record<string, string> = { TGLENS_DATA_DIR: path.join(root, "data"), TGLENS_MODEL_CACHE: path.resolve(".cache/models") };
    for (const name of SERVICE_NAMES) env[`TGLENS_${name === "telegram-bot" ? "GATEWAY" : name.toUpperCase()}_PORT`] = String(await freePort());
    try {
      const run = await tglens(["import", TEAM], env);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /indexed: 366/);
      const search = await tglens(["search", "airport arrival time", "--k", "1", "--json"], env);
      assert.equal(search.code, 0, search.stderr);
      assert.match(JSON.parse(search.stdout).results[0].text, /lands/);
      const bad = await tglens(["chats"], { ...env, TGLENS_GATEWAY_PORT: "eighty", TGLENS_MODEL_VARIANT: "fp64" });
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /TGLENS_GATEWAY_PORT/);
      assert.match(bad.stderr, /TGLENS_MODEL_VARIANT/);
    } finally {
      await fs.rm(root, { recursive: true, force: true });
    }
  });
});
