/**
 * The CLI as a person runs it: a child process, its stdout, stderr and exit status. Against a
 * running server (through its HTTP API), and on its own (it starts the pipeline itself).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import fs from "node:fs/promises";
import path from "node:path";
import type { ChatStats as ChatStatsRow } from "../../services/gateway/api/client.ts";
import { SERVICE_NAMES } from "../../services/common/config.ts";
import { freePort, snapshotDir, startTestSystem, type TestSystem } from "../helpers/system.ts";
import { testDir } from "../helpers/temp.ts";
import { TEAM_CHAT_EXPORT } from "../helpers/fixtures.ts";

const TEAM = TEAM_CHAT_EXPORT;
const TEAM_ID = "1498765432";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function tglens(args: string[], env: Record<string, string>, file = "bin/tglens", input?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      file,
      args,
      { env: { PATH: process.env.PATH!, HOME: process.env.HOME!, ...env }, timeout: 300_000, maxBuffer: 16 * 2 ** 20 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    if (input !== undefined) child.stdin!.end(input);
  });
}

/** The CLI on a terminal (util-linux `script` gives it a pseudo-terminal), typing `input`. */
function onTerminal(args: string[], env: Record<string, string>, input: string): Promise<Run> {
  const quoted = ["bin/tglens", ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
  return tglens(["-qec", quoted, "/dev/null"], env, "script", input);
}
const hasScript = spawnSync("script", ["--version"]).status === 0;

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

  it("searches one day given as a date alone (the whole day, UTC), in a chat given by part of its name", async () => {
    // Message 53 was sent at 2024-01-19 20:40 UTC.
    const day = await tglens(
      ["search", "сантехника", "--mode", "keyword", "--from", "2024-01-19", "--to", "2024-01-19", "--chat", "kreuzberg CREW", "--json"],
      env,
    );
    assert.equal(day.code, 0, day.stderr);
    assert.deepEqual(
      (JSON.parse(day.stdout) as { results: { message_id: number }[] }).results.map((r) => r.message_id),
      [53],
    );
    const before = await tglens(["search", "сантехника", "--mode", "keyword", "--to", "2024-01-18", "--json"], env);
    assert.deepEqual(JSON.parse(before.stdout), { results: [] });
  });

  it("lists chats", async () => {
    const run = await tglens(["chats"], env);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`${TEAM_ID}\\s+366\\s+`));
  });

  it("shows a message in its conversation: the target marked, what a reply answers, the replies, links; as JSON the API's answer", async () => {
    const run = await tglens(["show", "kreuzberg crew", "66", "--context", "1"], env);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.split("\n");
    assert.equal(lines[0], `Kreuzberg Crew 🍻 · chat ${TEAM_ID} · message #66`);
    const link = (id: number) => `https://t.me/c/${TEAM_ID}/${id}`;
    // 66 answers 62, which is outside the three messages shown: quoted above it.
    assert.deepEqual(
      lines.slice(1, 7).map((l) => l.replace(/\d{4}-\d\d-\d\d \d\d:\d\d/, "<date>")),
      [
        "  ⋮",
        `  <date>  #65  Lucas Martin: it's been in rice for two hours, nothing  ${link(65)}`,
        "         ┆ #62 <date> Lucas Martin: Spilled tea all over my laptop and now it won't even turn on",
        `▶   ↳ <date>  #66  (unknown) (reply to #62): RIP  ${link(66)}`,
        `  <date>  #67  Lucas Martin: and of course no backup of my thesis draft since December  ${link(67)}`,
        "  ⋮",
      ],
    );

    const api = (await (await fetch(`${t.url}/api/chats/${TEAM_ID}/messages?around=231&before=0&after=0`)).json()) as {
      replies: { message_id: number }[];
    };
    assert.deepEqual(
      api.replies.map((r) => r.message_id),
      [232, 233],
    );
    const json = await tglens(["show", TEAM_ID, "231", "--context", "0", "--json"], env);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), api);
    const text = await tglens(["show", TEAM_ID, "231", "--context", "0"], env);
    assert.match(
      text.stdout,
      /\nreplies to #231 further on:\n {4}↳ .* #232 {2}Tom Becker \(reply to #231\): nope {2}https:\/\/t\.me\/c\/1498765432\/232\n/,
    );
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

  it("refuses bad input with one line and a non-zero exit, changing nothing", async (ctx) => {
    const before = await snapshotDir(t.config.dataDir);
    const dir = testDir(ctx, "cli-bad");
    const notExport = path.join(dir, "not-export.json");
    await fs.writeFile(notExport, JSON.stringify({ hello: "world" }));
    const cases: [string[], RegExp][] = [
      [["import", path.join(dir, "missing.json")], /no such file.*\(TGLENS_NOT_FOUND\)/],
      [["import", notExport], /not a Telegram.*\(TGLENS_NOT_AN_EXPORT\)|TGLENS_NOT_AN_EXPORT/],
      [["search", "x", "--k", "0"], /--k must be an integer from 1 to 100/],
      [["search", "x", "--mode", "fuzzy"], /fuzzy/],
      [["forget", "No Such Chat", "--yes"], /no indexed chat matches "No Such Chat"/],
      [["stats", "No Such Chat"], /no indexed chat matches "No Such Chat" .*\(TGLENS_NOT_FOUND\)/],
      [["stats", "777"], /no indexed chat matches "777" .*\(TGLENS_NOT_FOUND\)/],
      [["search", "party", "--chat", "No Such Chat"], /no indexed chat matches "No Such Chat" .*\(TGLENS_NOT_FOUND\)/],
      [["show", "No Such Chat", "5"], /no indexed chat matches "No Such Chat" .*\(TGLENS_NOT_FOUND\)/],
      [["show", "kreuzberg crew", "99999"], new RegExp(`^tglens: no message 99999 in chat ${TEAM_ID} \\(TGLENS_NOT_FOUND\\)\n$`)],
      [["show", TEAM_ID, "five"], /the message id must be a whole number, as `tglens search` shows it after #/],
      [["show", TEAM_ID, "5", "--context", "101"], /--context must be an integer from 0 to 100/],
      // Not on a terminal, forget needs --yes: nothing is asked, nothing forgotten.
      [["forget", "Kreuzberg Crew 🍻"], /^tglens: forget cannot be undone; not on a terminal, so add --yes to confirm/],
      // Dates: ISO or unix seconds, real ones; never read month-first.
      [["search", "party", "--to", "06.02.2005"], /^tglens: --to must be a date, YYYY-MM-DD.*got "06\.02\.2005" \(TGLENS_BAD_REQUEST\)$/m],
      [["search", "party", "--from", "2005-02-30"], /^tglens: --from is not a real date: "2005-02-30" \(February 2005 has 28 days\)/],
      [["search", "party", "--from", "2024-02-01", "--to", "2024-01-31"], /--from 2024-02-01 is after --to 2024-01-31/],
      [["import", TEAM, "--since", "2024-01-01"], /^tglens: --since is only for a live read .*\(TGLENS_BAD_REQUEST\)$/m],
      [["import", TEAM, "--limit", "5", "--since", "2024-01-01"], /^tglens: --limit and --since are only for a live read/],
      [["import", "@some_public_group", "--since", "yesterday"], /^tglens: --since must be a date/],
      // The API's validation errors in the CLI's words.
      [["search", ""], /^tglens: the query is empty/],
      [["search", "party", "--sender", ""], /^tglens: --sender is empty \(TGLENS_BAD_REQUEST\)$/m],
      [["search", "x".repeat(2001)], /^tglens: the query is too long: 2001 characters, at most 2000/],
      // Nothing left to search for once cleaned: said so, not nearest neighbours.
      [["search", "🎉"], /^tglens: the query "🎉" has nothing to search for/],
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
  });

  it("names the candidates when a part of a name fits several chats", async (ctx) => {
    const dir = testDir(ctx, "cli-two");
    const runners = path.join(dir, "result.json");
    const message = {
      id: 1,
      type: "message",
      date: "2024-03-01T10:00:00",
      date_unixtime: "1709287200",
      from: "A",
      from_id: "user1",
      text: "running tonight",
    };
    await fs.writeFile(runners, JSON.stringify({ name: "Kreuzberg Runners", type: "private_group", id: 5550001, messages: [message] }));
    assert.equal((await tglens(["import", runners], env)).code, 0);
    const run = await tglens(["stats", "kreuzberg"], env);
    assert.notEqual(run.code, 0);
    assert.equal(
      run.stderr,
      `tglens: "kreuzberg" matches 2 chats: Kreuzberg Crew 🍻 [${TEAM_ID}], Kreuzberg Runners [5550001]; ` +
        "give the id or more of the name (TGLENS_BAD_REQUEST)\n",
    );
    assert.equal(run.stdout, "");
    const forgot = await tglens(["forget", "runners", "--yes"], env);
    assert.match(forgot.stdout, /^forgot chat 5550001 \(1 messages\)\n$/);
  });

  it("asks before forgetting on a terminal, and keeps the chat unless told yes", { skip: !hasScript && "needs util-linux script" }, async () => {
    const before = await snapshotDir(t.config.dataDir);
    const run = await onTerminal(["forget", "kreuzberg crew"], env, "n\n");
    assert.equal(run.code, 1, run.stdout);
    assert.match(run.stdout, new RegExp(`forget "Kreuzberg Crew 🍻" \\[${TEAM_ID}\\]: 366 messages, its index and its files, for good\\? \\[y/N\\]`));
    assert.match(run.stdout, /tglens: nothing forgotten/);
    assert.deepEqual(await snapshotDir(t.config.dataDir), before);
  });

  it("forgets a chat by name", async () => {
    const run = await tglens(["forget", "Kreuzberg Crew 🍻", "--yes"], env);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /forgot chat 1498765432 \(366 messages\)/);
    const again = await tglens(["chats"], env);
    assert.match(again.stdout, /no chats indexed/);
  });
});

describe("tglens CLI on its own", { timeout: 600_000 }, () => {
  it("runs the pipeline itself when no server answers, and reports a bad config at once", async (ctx) => {
    const root = testDir(ctx, "cli-local");
    const env: Record<string, string> = { TGLENS_DATA_DIR: path.join(root, "data"), TGLENS_MODEL_CACHE: path.resolve(".cache/models") };
    for (const name of SERVICE_NAMES) env[`TGLENS_${name === "telegram-bot" ? "GATEWAY" : name.toUpperCase()}_PORT`] = String(await freePort());
    const run = await tglens(["import", TEAM], env);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /indexed: 366/);
    assert.equal(
      run.stderr,
      `tglens: no server answers at http://127.0.0.1:${env.TGLENS_GATEWAY_PORT}; ` +
        `running the pipeline in this process, on the data in ${env.TGLENS_DATA_DIR}\n`,
    );
    // An expected refusal: the CLI's one line after that note, no log line, no stack trace.
    const live = await tglens(["import", "@some_public_group"], env);
    assert.equal(live.code, 1);
    assert.deepEqual(live.stderr.trim().split("\n").slice(1), [
      "tglens: live Telegram reading is not configured: TELEGRAM_API_ID and TELEGRAM_API_HASH are not set " +
        "(an application id and hash from https://my.telegram.org); there is no session: run `tglens login`, " +
        "or set TELEGRAM_SESSION (TGLENS_TELEGRAM_NOT_CONFIGURED)",
    ]);
    const search = await tglens(["search", "airport arrival time", "--k", "1", "--json"], env);
    assert.equal(search.code, 0, search.stderr);
    assert.match(JSON.parse(search.stdout).results[0].text, /lands/);
    const bad = await tglens(["chats"], { ...env, TGLENS_GATEWAY_PORT: "eighty", TGLENS_MODEL_VARIANT: "fp64" });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /TGLENS_GATEWAY_PORT/);
    assert.match(bad.stderr, /TGLENS_MODEL_VARIANT/);
  });
});

describe("tglens CLI against a server with API tokens", { timeout: 600_000 }, () => {
  const ADMIN = "cli-admin-token-0123456789abcdef";
  const READ = "cli-read-token-0123456789abcdef";
  let t: TestSystem;
  let base: Record<string, string>;
  before(async () => {
    t = await startTestSystem({ TGLENS_API_TOKEN: ADMIN, TGLENS_API_READ_TOKEN: READ });
    base = { TGLENS_URL: t.url, TGLENS_DATA_DIR: t.config.dataDir };
  });
  after(async () => {
    await t?.close();
  });

  it("sends TGLENS_API_TOKEN (or the read-only token) and says in one line when it has none or the wrong one", async (ctx) => {
    const dir = testDir(ctx, "cli-token");
    const notExport = path.join(dir, "not-export.json");
    await fs.writeFile(notExport, JSON.stringify({ hello: "world" }));
    const admin = await tglens(["import", notExport], { ...base, TGLENS_API_TOKEN: ADMIN });
    assert.match(admin.stderr, /\(TGLENS_NOT_AN_EXPORT\)/, "the server read the upload: the token was accepted");
    const reader = await tglens(["chats", "--json"], { ...base, TGLENS_API_READ_TOKEN: READ });
    assert.equal(reader.code, 0, reader.stderr);
    assert.deepEqual(JSON.parse(reader.stdout), { chats: [] });
    const readOnly = await tglens(["import", notExport], { ...base, TGLENS_API_READ_TOKEN: READ });
    assert.notEqual(readOnly.code, 0);
    assert.match(readOnly.stderr, /^tglens: .*\(TGLENS_FORBIDDEN\)\n$/);
    for (const env of [base, { ...base, TGLENS_API_TOKEN: `${ADMIN}-wrong` }]) {
      const run = await tglens(["chats"], env);
      assert.notEqual(run.code, 0);
      assert.match(run.stderr, /^tglens: .*TGLENS_API_TOKEN.*\(TGLENS_UNAUTHORIZED\)\n$|^tglens: the API token is wrong \(TGLENS_UNAUTHORIZED\)\n$/);
      assert.doesNotMatch(run.stderr, new RegExp(ADMIN));
    }
    assert.deepEqual(await snapshotDir(path.join(t.config.dataDir, "uploads")), []);
  });
});
