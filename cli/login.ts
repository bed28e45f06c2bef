/**
 * `tglens login`: logs in to Telegram as Telegram apps do — phone number, the code Telegram sends,
 * the 2FA password if the account has one (typed without echo) — and saves the GramJS session to
 * data/session with mode 0600, for the live scraper. It prints who logged in, never the session.
 * It needs TELEGRAM_API_ID and TELEGRAM_API_HASH and holds the session lock while it runs, so it
 * cannot replace a session a running tglens is using.
 */
import readline from "node:readline/promises";
import { Writable, type Readable } from "node:stream";
import { errors, type Api, type sessions } from "telegram";
import type { UserAuthParams } from "telegram/client/auth.js";
import type { Config } from "../services/common/config.ts";
import { TglensError } from "../services/common/errors.ts";
import { createLogger, registerSecret, scrubKnownSecrets, type Logger } from "../services/common/logger.ts";
import { createGramjsClient, floodWaitSeconds, telegramFailure } from "../services/scraper/telegram/client.ts";
import { displayName, entityUsername } from "../services/scraper/telegram/gramjs-mapping.ts";
import { acquireSessionLock, missingTelegramSettings, notConfigured, saveSession } from "../services/scraper/telegram/session.ts";

export interface Prompter {
  ask(question: string): Promise<string>;
  /** Asks without echoing what is typed (the 2FA password). */
  askHidden(question: string): Promise<string>;
  close(): void;
}

/** The GramJS calls login makes; the real TelegramClient has them. */
export interface LoginClient {
  start(params: UserAuthParams): Promise<void>;
  getMe(): Promise<Api.User>;
  destroy(): Promise<void>;
}

/** A client on a fresh session, and how to read that session once logged in. */
export type LoginClientFactory = (apiId: number, apiHash: string, log: Logger) => { client: LoginClient; session(): string };

export interface LoginDeps {
  config: Pick<Config, "dataDir" | "telegram">;
  prompt: Prompter;
  /** One line for the person at the terminal (the result, and problems worth retrying). */
  say: (line: string) => void;
  createClient?: LoginClientFactory;
  log?: Logger;
}

export const gramjsLoginClient: LoginClientFactory = (apiId, apiHash, log) => {
  const client = createGramjsClient({ apiId, apiHash, session: "" }, log);
  // createGramjsClient gives every client a StringSession, whose save() returns the session string.
  return { client, session: () => (client.session as sessions.StringSession).save() };
};

/** Telegram's answers to a mistyped phone number, code or password: worth asking again. */
const RETYPE = new Set(["PHONE_NUMBER_INVALID", "PHONE_CODE_INVALID", "PHONE_CODE_EMPTY", "PASSWORD_HASH_INVALID"]);
const MAX_RETYPES = 3;

/** Prompts on a terminal: questions on stderr, so stdout carries only the result. */
export function terminalPrompter(input: Readable & { isTTY?: boolean } = process.stdin, output: NodeJS.WritableStream = process.stderr): Prompter {
  let muted = false;
  // readline echoes what is typed through its output; muting that output hides the password.
  const echo = new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (!muted) output.write(chunk);
      done();
    },
  });
  const rl = readline.createInterface({ input, output: echo, terminal: Boolean(input.isTTY) });
  const ended = new AbortController();
  rl.once("close", () => ended.abort());
  const ask = async (question: string, hidden: boolean): Promise<string> => {
    const inputEnded = () => new TglensError("TGLENS_BAD_REQUEST", "the input ended before the login was complete");
    if (ended.signal.aborted) throw inputEnded();
    output.write(question);
    muted = hidden;
    try {
      return (await rl.question("", { signal: ended.signal })).trim();
    } catch {
      throw inputEnded();
    } finally {
      if (hidden) output.write("\n");
      muted = false;
    }
  };
  return { ask: (q) => ask(q, false), askHidden: (q) => ask(q, true), close: () => rl.close() };
}

export async function login(deps: LoginDeps): Promise<{ file: string; user: string }> {
  try {
    return await loginWithPrompter(deps);
  } finally {
    deps.prompt.close();
  }
}

async function loginWithPrompter(deps: LoginDeps): Promise<{ file: string; user: string }> {
  const { config, prompt, say } = deps;
  const { apiId, apiHash } = config.telegram;
  if (apiId === undefined || apiHash === undefined) throw notConfigured(missingTelegramSettings(config.telegram, true));
  registerSecret(apiHash);
  const log = deps.log ?? createLogger({ level: "warn", destination: process.stderr as never });
  const lock = await acquireSessionLock(config.dataDir);
  const { client, session } = (deps.createClient ?? gramjsLoginClient)(apiId, apiHash, log);
  let lastError: unknown;
  let retypes = 0;
  try {
    await client.start({
      phoneNumber: () => prompt.ask("Phone number (international format, e.g. +491511234567): "),
      phoneCode: (viaApp) => prompt.ask(`Login code (sent ${viaApp ? "to your Telegram app" : "by SMS"}): `),
      password: (hint) => prompt.askHidden(`2FA password${hint ? ` (hint: ${hint})` : ""}: `),
      // GramJS would sign a new account up; tglens only logs in to one that exists.
      firstAndLastNames: async () => {
        throw new TglensError("TGLENS_BAD_REQUEST", "no Telegram account uses this phone number; create one in a Telegram app first");
      },
      onError: async (err: Error) => {
        lastError = err;
        const code = err instanceof errors.RPCError ? err.errorMessage : undefined;
        if (code !== undefined && RETYPE.has(code) && retypes++ < MAX_RETYPES) {
          say(`Telegram says ${code}; try again.`);
          return false;
        }
        return true; // stop: start() rejects, and the error below says why
      },
    });
    const saved = session();
    registerSecret(saved);
    const file = await saveSession(config.dataDir, saved);
    const me = await client.getMe();
    const user = `${displayName(me) ?? "(no name)"}${entityUsername(me) ? ` (@${entityUsername(me)})` : ""}, id ${me.id.toString()}`;
    say(`Logged in as ${user}. Session saved to ${file} (mode 0600).`);
    if (config.telegram.session !== undefined) say("Note: TELEGRAM_SESSION is set, and it takes precedence over the saved session.");
    return { file, user };
  } catch (err) {
    throw loginFailure(lastError ?? err);
  } finally {
    await client.destroy().catch(() => {});
    await lock.release();
  }
}

function loginFailure(err: unknown): TglensError {
  const seconds = floodWaitSeconds(err);
  if (seconds !== undefined)
    return new TglensError("TGLENS_TELEGRAM", `Telegram asks to wait ${seconds} s before the next login attempt (FloodWait)`);
  if (err instanceof TglensError) return new TglensError(err.code, scrubKnownSecrets(err.message));
  return telegramFailure(err, "logging in");
}
