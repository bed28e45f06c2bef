import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { scrubKnownSecrets } from "../../../../services/common/logger.ts";
import {
  acquireSessionLock,
  readSavedSession,
  saveSession,
  sessionFile,
  sessionLockFile,
  telegramCredentials,
} from "../../../../services/scraper/telegram/session.ts";
import { scratchDirs, snapshotDir } from "../../../helpers/system.ts";
import { rejectsWith } from "../../../helpers/errors.ts";

const dataDir = scratchDirs("session");

const API = { apiId: 12345, apiHash: "canary-api-hash-0123456789abcdef" };

describe("telegram credentials", () => {
  it("names exactly what is missing, and changes nothing", async () => {
    const dir = await dataDir();
    const cases: [Parameters<typeof telegramCredentials>[0], string[]][] = [
      [{ apiId: undefined, apiHash: undefined, session: undefined }, ["TELEGRAM_API_ID", "TELEGRAM_API_HASH", "TELEGRAM_SESSION"]],
      [{ apiId: 1, apiHash: undefined, session: "s".repeat(20) }, ["TELEGRAM_API_HASH"]],
      [{ apiId: undefined, apiHash: "h".repeat(20), session: "s".repeat(20) }, ["TELEGRAM_API_ID"]],
      [{ ...API, session: undefined }, ["TELEGRAM_SESSION"]],
    ];
    for (const [telegram, missing] of cases) {
      const err = await rejectsWith(telegramCredentials(telegram, dir), "TGLENS_TELEGRAM_NOT_CONFIGURED");
      assert.deepEqual(err.details?.missing, missing);
      for (const name of ["TELEGRAM_API_ID", "TELEGRAM_API_HASH"])
        assert.equal(err.message.includes(name), missing.includes(name), `${name} in: ${err.message}`);
      assert.equal(err.message.includes("tglens login"), missing.includes("TELEGRAM_SESSION"), err.message);
    }
    assert.deepEqual(await snapshotDir(dir), [], "nothing was written");
  });

  it("takes the session from TELEGRAM_SESSION first, else from data/session, and registers both secrets", async () => {
    const dir = await dataDir();
    const saved = "canary-saved-session-string-1";
    await saveSession(dir, saved);
    assert.deepEqual(await telegramCredentials({ ...API, session: undefined }, dir), { ...API, session: saved });
    assert.deepEqual(await telegramCredentials({ ...API, session: "canary-env-session-string-2" }, dir), {
      ...API,
      session: "canary-env-session-string-2",
    });
    const line = scrubKnownSecrets(`hash ${API.apiHash} saved ${saved} env canary-env-session-string-2`);
    assert.equal(line, "hash [REDACTED] saved [REDACTED] env [REDACTED]");
  });
});

describe("the saved session file", () => {
  it("is written with mode 0600, atomically, and read back", async () => {
    const dir = await dataDir();
    const file = await saveSession(dir, "canary-session-0600");
    assert.equal(file, sessionFile(dir));
    assert.equal((await fs.stat(file)).mode & 0o777, 0o600);
    assert.equal(await readSavedSession(dir), "canary-session-0600");
    await saveSession(dir, "canary-session-second");
    assert.equal(await readSavedSession(dir), "canary-session-second");
    assert.deepEqual((await fs.readdir(dir)).sort(), ["session"], "no temp file left");
  });

  it("is refused when group or others can read it, and left as it was", async () => {
    const dir = await dataDir();
    await saveSession(dir, "canary-session-0644");
    await fs.chmod(sessionFile(dir), 0o644);
    const err = await rejectsWith(readSavedSession(dir), "TGLENS_CONFIG");
    assert.match(err.message, /chmod 600/);
    assert.doesNotMatch(err.message, /canary-session-0644/);
    assert.equal((await fs.stat(sessionFile(dir))).mode & 0o777, 0o644);
    await rejectsWith(telegramCredentials({ ...API, session: undefined }, dir), "TGLENS_CONFIG");
  });

  it("counts as missing when absent or empty", async () => {
    const dir = await dataDir();
    assert.equal(await readSavedSession(dir), undefined);
    await fs.writeFile(sessionFile(dir), "\n", { mode: 0o600 });
    assert.equal(await readSavedSession(dir), undefined);
  });
});

describe("the session lock", () => {
  it("lets one holder in at a time, this process included, and frees on release", async () => {
    const dir = await dataDir();
    const lock = await acquireSessionLock(dir);
    const before = await fs.readFile(sessionLockFile(dir), "utf8");
    const err = await rejectsWith(acquireSessionLock(dir), "TGLENS_SESSION_LOCKED");
    assert.match(err.message, new RegExp(`pid ${process.pid}`));
    assert.equal(await fs.readFile(sessionLockFile(dir), "utf8"), before, "the holder's lock is untouched");
    await lock.release();
    await assert.rejects(fs.stat(sessionLockFile(dir)));
    const again = await acquireSessionLock(dir);
    await again.release();
  });

  it("is refused while another live process holds it", async () => {
    const dir = await dataDir();
    const script = `
      import { acquireSessionLock } from ${JSON.stringify(path.resolve("services/scraper/telegram/session.ts"))};
      await acquireSessionLock(${JSON.stringify(dir)});
      process.stdout.write("locked\\n");
      setTimeout(() => {}, 60_000);
    `;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on("data", (d: Buffer) => d.toString().includes("locked") && resolve());
        child.once("exit", () => reject(new Error("the child exited early")));
      });
      const err = await rejectsWith(acquireSessionLock(dir), "TGLENS_SESSION_LOCKED");
      assert.match(err.message, new RegExp(`pid ${child.pid}`));
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("takes over a stale lock left by a dead process", async () => {
    const dir = await dataDir();
    const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
    const deadPid = Number(dead.stdout);
    assert.ok(deadPid > 0);
    await fs.writeFile(sessionLockFile(dir), JSON.stringify({ pid: deadPid, host: os.hostname(), token: "old", since: "2024-01-01T00:00:00Z" }));
    const lock = await acquireSessionLock(dir);
    const owner = JSON.parse(await fs.readFile(sessionLockFile(dir), "utf8")) as { pid: number };
    assert.equal(owner.pid, process.pid);
    await lock.release();
    assert.deepEqual(await fs.readdir(dir), [], "no stale or temp file left");
  });

  it("honours a lock from another host, saying how to clear it", async () => {
    const dir = await dataDir();
    const foreign = JSON.stringify({ pid: 1, host: "some-other-host", token: "t", since: "2024-01-01T00:00:00Z" });
    await fs.writeFile(sessionLockFile(dir), foreign);
    const err = await rejectsWith(acquireSessionLock(dir), "TGLENS_SESSION_LOCKED");
    assert.match(err.message, /some-other-host/);
    assert.match(err.message, /remove .*session\.lock/);
    assert.equal(await fs.readFile(sessionLockFile(dir), "utf8"), foreign);
  });
});
