/**
 * `tglens login` without a network: its prompts, the session file it writes (mode 0600, never
 * printed), and its refusals (missing variables, a session in use, a FloodWait). The GramJS login
 * itself is replaced by a fake client that calls the prompts as GramJS's `start()` does.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import { PassThrough } from "node:stream";
import { errors } from "telegram";
import type { UserAuthParams } from "telegram/client/auth.js";
import { login, terminalPrompter, type LoginClientFactory, type Prompter } from "../../cli/login.ts";
import { acquireSessionLock, sessionFile } from "../../services/scraper/telegram/session.ts";
import { user } from "../helpers/fake-telegram.ts";
import { snapshotDir } from "../helpers/system.ts";
import { scratchDirs } from "../helpers/temp.ts";
import { rejectsWith } from "../helpers/errors.ts";

const SESSION = "canary-login-session-1AgAOMTQ5LjE1NC4xNjcuNTAB";
const API_HASH = "canary-login-api-hash-0a1b2c3d";
const anna = user(5566778, "Anna", "Petrova", { username: "anna" });

const dataDir = scratchDirs("login");

/** Answers from a script, recording what was asked and how. */
function scripted(answers: string[]): Prompter & { asked: string[]; closed: boolean } {
  const asked: string[] = [];
  const next = (q: string, how: string) => {
    asked.push(`${how}:${q}`);
    const answer = answers.shift();
    if (answer === undefined) throw new Error(`unexpected question ${q}`);
    return Promise.resolve(answer);
  };
  return {
    asked,
    closed: false,
    ask: (q) => next(q, "ask"),
    askHidden: (q) => next(q, "hidden"),
    close() {
      this.closed = true;
    },
  };
}

/** A client whose start() is `run`: it drives the prompts and onError as GramJS's start() does. */
function fakeLogin(run: (params: UserAuthParams) => Promise<void>): LoginClientFactory & { destroyed: boolean } {
  const factory = Object.assign(
    () => ({
      client: {
        start: run,
        getMe: async () => anna,
        destroy: async () => void (factory.destroyed = true),
      },
      session: () => SESSION,
    }),
    { destroyed: false },
  );
  return factory;
}

const config = (dir: string, telegram: Partial<{ apiId: number; apiHash: string; session: string }> = { apiId: 12345, apiHash: API_HASH }) => ({
  dataDir: dir,
  telegram: { apiId: undefined, apiHash: undefined, session: undefined, ...telegram } as never,
});

describe("tglens login", () => {
  it("asks phone, code and the 2FA password (hidden), saves the session with mode 0600 and never shows it", async () => {
    const dir = dataDir();
    const prompt = scripted(["+491511234567", "12345", "hunter2"]);
    const seen: string[] = [];
    const factory = fakeLogin(async (p) => {
      const phone = await (p.phoneNumber as () => Promise<string>)();
      const code = await p.phoneCode(true);
      const password = await p.password!("my hint");
      seen.push(phone, code, password);
    });
    const said: string[] = [];
    const result = await login({ config: config(dir), prompt, say: (l) => said.push(l), createClient: factory });

    assert.deepEqual(seen, ["+491511234567", "12345", "hunter2"]);
    assert.deepEqual(
      prompt.asked.map((q) => q.split(":")[0]),
      ["ask", "ask", "hidden"],
      "the password is asked without echo",
    );
    assert.match(prompt.asked[2]!, /my hint/);
    assert.equal(await fs.readFile(sessionFile(dir), "utf8"), `${SESSION}\n`);
    assert.equal((await fs.stat(sessionFile(dir))).mode & 0o777, 0o600);
    assert.deepEqual(said, [`Logged in as Anna Petrova (@anna), id 5566778. Session saved to ${sessionFile(dir)} (mode 0600).`]);
    assert.equal(result.user, "Anna Petrova (@anna), id 5566778");
    assert.ok(!JSON.stringify([said, result]).includes(SESSION));
    assert.ok(prompt.closed && factory.destroyed);
    assert.deepEqual(await fs.readdir(dir), ["session"], "the lock is released");
  });

  it("asks again after a mistyped code", async () => {
    const dir = dataDir();
    const prompt = scripted(["+491511234567", "00000", "12345"]);
    const factory = fakeLogin(async (p) => {
      await (p.phoneNumber as () => Promise<string>)();
      while ((await p.phoneCode()) !== "12345") {
        if (await p.onError(new errors.RPCError("PHONE_CODE_INVALID", undefined as never, 400))) throw new Error("AUTH_USER_CANCEL");
      }
    });
    const said: string[] = [];
    await login({ config: config(dir), prompt, say: (l) => said.push(l), createClient: factory });
    assert.match(said[0]!, /PHONE_CODE_INVALID; try again/);
    assert.equal(prompt.asked.length, 3);
  });

  it("names the missing variables and asks nothing, writes nothing", async () => {
    const dir = dataDir();
    for (const [telegram, missing, present] of [
      [{}, ["TELEGRAM_API_ID", "TELEGRAM_API_HASH"], []],
      [{ apiId: 1 }, ["TELEGRAM_API_HASH"], ["TELEGRAM_API_ID"]],
      [{ apiHash: API_HASH }, ["TELEGRAM_API_ID"], ["TELEGRAM_API_HASH"]],
    ] as const) {
      const prompt = scripted([]);
      const err = await rejectsWith(
        login({ config: config(dir, telegram), prompt, say: () => {}, createClient: fakeLogin(async () => {}) }),
        "TGLENS_TELEGRAM_NOT_CONFIGURED",
      );
      for (const name of missing) assert.match(err.message, new RegExp(name));
      for (const name of present) assert.doesNotMatch(err.message, new RegExp(name));
      assert.doesNotMatch(err.message, /TELEGRAM_SESSION/, "login makes the session, so it is not asked for");
      assert.deepEqual(prompt.asked, []);
      assert.ok(prompt.closed);
    }
    assert.deepEqual(await snapshotDir(dir), []);
  });

  it("refuses while another tglens uses the session, asking nothing", async () => {
    const dir = dataDir();
    const lock = await acquireSessionLock(dir);
    try {
      const prompt = scripted([]);
      await rejectsWith(login({ config: config(dir), prompt, say: () => {}, createClient: fakeLogin(async () => {}) }), "TGLENS_SESSION_LOCKED");
      assert.deepEqual(prompt.asked, []);
      await assert.rejects(fs.stat(sessionFile(dir)));
    } finally {
      await lock.release();
    }
  });

  it("stops on a FloodWait, saying how long to wait, and saves nothing", async () => {
    const dir = dataDir();
    const factory = fakeLogin(async (p) => {
      await (p.phoneNumber as () => Promise<string>)();
      if (await p.onError(new errors.FloodWaitError({ capture: 600 }))) throw new Error("AUTH_USER_CANCEL");
    });
    const err = await rejectsWith(
      login({ config: config(dir), prompt: scripted(["+491511234567"]), say: () => {}, createClient: factory }),
      "TGLENS_TELEGRAM",
    );
    assert.match(err.message, /wait 600 s/);
    assert.deepEqual(await fs.readdir(dir), [], "no session, no lock");
  });

  it("hides the password as it is typed on a terminal, and shows the rest", async () => {
    const input = Object.assign(new PassThrough(), { isTTY: true });
    const output = new PassThrough();
    let shown = "";
    output.on("data", (d: Buffer) => (shown += d.toString()));
    const prompt = terminalPrompter(input, output);
    const phone = prompt.ask("Phone: ");
    input.write("+4915112345\r");
    assert.equal(await phone, "+4915112345");
    const password = prompt.askHidden("Password: ");
    input.write("hunter2\r");
    assert.equal(await password, "hunter2");
    prompt.close();
    assert.match(shown, /Phone: .*\+4915112345/s);
    assert.match(shown, /Password: /);
    assert.doesNotMatch(shown, /hunter2/);
  });

  it("as a command, prints one line naming the missing variables and exits non-zero", async () => {
    const dir = dataDir();
    const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        "bin/tglens",
        ["login"],
        { env: { PATH: process.env.PATH!, HOME: process.env.HOME!, TGLENS_DATA_DIR: dir }, timeout: 120_000 },
        (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
    assert.equal(run.code, 1);
    assert.equal(run.stdout, "");
    assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
    assert.match(run.stderr, /^tglens: .*TELEGRAM_API_ID and TELEGRAM_API_HASH are not set.*\(TGLENS_TELEGRAM_NOT_CONFIGURED\)\n$/);
    assert.deepEqual(await snapshotDir(dir), []);
  });
});
