/**
 * The Telegram session and who may use it: the session string from TELEGRAM_SESSION or data/session
 * (mode 0600, refused if others can read it), its secrets registered with the logger as soon as read,
 * and one running process per session (data/session.lock), because Telegram drops a session used
 * from two connections at once. How the lock is taken and when a stale one is taken over:
 * docs/architecture.md ("Live reading: session, mapping, pages").
 */
import { randomBytes } from "node:crypto";
import { readFileSync, unlinkSync, writeFileSync } from "node:fs";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { TelegramConfig } from "../../common/config.ts";
import { TglensError } from "../../common/errors.ts";
import { registerSecret } from "../../common/logger.ts";
import { replaceFileAtomic } from "../../common/atomic-file.ts";
import type { TelegramCredentials } from "./client.ts";

export function sessionFile(dataDir: string): string {
  return path.join(dataDir, "session");
}

export function sessionLockFile(dataDir: string): string {
  return path.join(dataDir, "session.lock");
}

/** The session saved by `tglens login`, or undefined when there is none (or it is empty). */
export async function readSavedSession(dataDir: string): Promise<string | undefined> {
  const file = sessionFile(dataDir);
  let mode: number;
  try {
    mode = (await fs.stat(file)).mode;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  if ((mode & 0o077) !== 0) {
    const shown = (mode & 0o777).toString(8).padStart(4, "0");
    throw new TglensError(
      "TGLENS_CONFIG",
      `${file} can be read by other users (mode ${shown}); it holds a Telegram login: run \`chmod 600 ${file}\``,
      {
        details: { file, mode: shown },
      },
    );
  }
  const session = (await fs.readFile(file, "utf8")).trim();
  registerSecret(session);
  return session === "" ? undefined : session;
}

/** Saves a session to data/session, readable by its owner only from the first byte on. */
export async function saveSession(dataDir: string, session: string): Promise<string> {
  registerSecret(session);
  const file = sessionFile(dataDir);
  await fs.mkdir(dataDir, { recursive: true });
  // The temp file is created with mode 0600 (flag wx: never through an existing file), so the
  // session is never readable by others, not even for the moment before the rename.
  replaceFileAtomic(file, (tmp) => writeFileSync(tmp, `${session}\n`, { mode: 0o600, flag: "wx" }));
  return file;
}

/** Names of the missing settings, and the session if there is none. */
export function missingTelegramSettings(telegram: Pick<TelegramConfig, "apiId" | "apiHash">, hasSession: boolean): string[] {
  const missing: string[] = [];
  if (telegram.apiId === undefined) missing.push("TELEGRAM_API_ID");
  if (telegram.apiHash === undefined) missing.push("TELEGRAM_API_HASH");
  if (!hasSession) missing.push("TELEGRAM_SESSION");
  return missing;
}

/** The one-line explanation of what live reading lacks. */
export function notConfigured(missing: readonly string[]): TglensError {
  const api = missing.filter((name) => name !== "TELEGRAM_SESSION");
  const parts: string[] = [];
  if (api.length > 0)
    parts.push(`${api.join(" and ")} ${api.length > 1 ? "are" : "is"} not set (an application id and hash from https://my.telegram.org)`);
  if (missing.includes("TELEGRAM_SESSION")) parts.push("there is no session: run `tglens login`, or set TELEGRAM_SESSION");
  return new TglensError("TGLENS_TELEGRAM_NOT_CONFIGURED", `live Telegram reading is not configured: ${parts.join("; ")}`, {
    details: { missing: [...missing] },
  });
}

/**
 * What a live client needs: the API id and hash from the configuration and a session from
 * TELEGRAM_SESSION or data/session. Throws TGLENS_TELEGRAM_NOT_CONFIGURED naming what is missing.
 */
export async function telegramCredentials(
  telegram: Pick<TelegramConfig, "apiId" | "apiHash" | "session">,
  dataDir: string,
): Promise<TelegramCredentials> {
  registerSecret(telegram.apiHash);
  registerSecret(telegram.session);
  const session = telegram.session ?? (await readSavedSession(dataDir));
  const missing = missingTelegramSettings(telegram, session !== undefined);
  if (missing.length > 0 || telegram.apiId === undefined || telegram.apiHash === undefined || session === undefined) throw notConfigured(missing);
  return { apiId: telegram.apiId, apiHash: telegram.apiHash, session };
}

interface LockOwner {
  pid: number;
  host: string;
  token: string;
  since: string;
}

export interface SessionLock {
  readonly file: string;
  release(): Promise<void>;
}

function isAlive(pid: number): boolean {
  // pid 0 (and negatives) would address process groups, not a process.
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function readOwner(file: string): Promise<LockOwner | undefined> {
  try {
    const owner = JSON.parse(await fs.readFile(file, "utf8")) as Partial<LockOwner>;
    if (typeof owner.pid === "number" && typeof owner.host === "string" && typeof owner.token === "string") return owner as LockOwner;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
  }
  // Unreadable content cannot come from this module (the lock appears whole), so nobody owns it.
  return { pid: 0, host: os.hostname(), token: "", since: "" };
}

/** Creates the lock file with `owner` in it, or returns false if it exists. */
async function createLock(file: string, owner: LockOwner): Promise<boolean> {
  const temp = `${file}.${owner.token}`;
  await fs.writeFile(temp, JSON.stringify(owner), { mode: 0o600 });
  try {
    await fs.link(temp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  } finally {
    await fs.rm(temp, { force: true });
  }
}

function lockedBy(file: string, owner: LockOwner): TglensError {
  const here = owner.host === os.hostname();
  const who = `pid ${owner.pid}${here ? "" : ` on ${owner.host}`}${owner.since ? `, since ${owner.since}` : ""}`;
  const hint = here ? "stop it first" : `stop it first, or remove ${file} if that process is gone`;
  return new TglensError("TGLENS_SESSION_LOCKED", `the Telegram session is in use by another tglens process (${who}); ${hint}`, {
    details: { file, pid: owner.pid, host: owner.host },
  });
}

/**
 * Takes data/session.lock for this process, taking over a stale one (its pid dead on this host).
 * Throws TGLENS_SESSION_LOCKED while another live process holds it, this one included: a second
 * holder in one process is still a second connection.
 */
export async function acquireSessionLock(dataDir: string): Promise<SessionLock> {
  const file = sessionLockFile(dataDir);
  await fs.mkdir(dataDir, { recursive: true });
  const owner: LockOwner = { pid: process.pid, host: os.hostname(), token: randomBytes(12).toString("hex"), since: new Date().toISOString() };
  for (let attempt = 0; ; attempt++) {
    if (await createLock(file, owner)) break;
    const current = await readOwner(file);
    if (current === undefined) continue; // released meanwhile: try again
    const stale = current.host === owner.host && !isAlive(current.pid);
    if (!stale || attempt >= 3) throw lockedBy(file, current);
    // Move the stale lock aside, then check that what moved is the lock judged stale: if another
    // process took it over in between, its fresh lock is put back and we are the ones refused.
    const aside = `${file}.stale-${owner.token}`;
    try {
      await fs.rename(file, aside);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw err;
    }
    const moved = await readOwner(aside);
    if (moved && moved.token !== current.token) {
      await fs.link(aside, file).catch(() => {});
      await fs.rm(aside, { force: true });
      throw lockedBy(file, moved);
    }
    await fs.rm(aside, { force: true });
  }
  // A process that exits without release() (an uncaught error) still frees the lock; one that is
  // killed leaves a stale lock, which the next process takes over.
  const onExit = () => {
    try {
      if (readFileSync(file, "utf8").includes(owner.token)) unlinkSync(file);
    } catch {
      // already gone
    }
  };
  process.once("exit", onExit);
  let released = false;
  return {
    file,
    async release() {
      if (released) return;
      released = true;
      process.off("exit", onExit);
      const current = await readOwner(file);
      if (current?.token === owner.token) await fs.rm(file, { force: true });
    },
  };
}
