/**
 * The Telegram client as the live scraper sees it: exactly the GramJS `TelegramClient` methods it
 * calls, with GramJS's own parameter types, so the real client satisfies the interface as it is
 * (createGramjsClient below is checked against it by the compiler) and the test fake implements the
 * same calls. Return types are what the scraper relies on, which GramJS's own are assignable to:
 * `getMessages` resolves to GramJS's TotalList of messages, which really holds `Api.MessageService`
 * entries too, hence `Api.TypeMessage[]`; `iterDialogs` yields GramJS `Dialog`s, of which only
 * `entity` is read.
 *
 * Also here: the real client (every FloodWait handed to tglens, GramJS's console output routed to
 * the service log) and the translation of GramJS errors into TglensErrors.
 */
import { Api, errors, Logger, sessions, TelegramClient } from "telegram";
import { LogLevel } from "telegram/extensions/Logger.js";
import type { IterDialogsParams } from "telegram/client/dialogs.js";
import type { IterMessagesParams } from "telegram/client/messages.js";
import type { Entity, EntityLike } from "telegram/define.js";
import { TglensError } from "../../common/errors.ts";
import { scrubKnownSecrets, type Logger as TglensLogger } from "../../common/logger.ts";

export type { Entity };

export interface TelegramReader {
  connect(): Promise<boolean>;
  /** The logged-in user: the sender of our own messages where Telegram leaves `from_id` out. */
  getMe(): Promise<Api.User>;
  /** Resolves a username (network) or a known peer. */
  getEntity(entity: EntityLike): Promise<Entity>;
  /** The account's chats; how numeric chat ids are found (a session knows no access hashes). */
  iterDialogs(params?: IterDialogsParams): AsyncIterable<{ entity?: Entity }>;
  /** One history request: with `reverse: true` and `minId`, the next messages after minId, oldest first. */
  getMessages(entity: EntityLike | undefined, params?: Partial<IterMessagesParams>): Promise<Api.TypeMessage[]>;
  /** Disconnects and stops GramJS's update loop (disconnect() alone leaves it running). */
  destroy(): Promise<void>;
}

export interface TelegramCredentials {
  apiId: number;
  apiHash: string;
  session: string;
}

/** Makes the client for a scraper; tests inject one that returns a fake. */
export type TelegramClientFactory = (credentials: TelegramCredentials, log: TglensLogger) => TelegramReader | Promise<TelegramReader>;

/**
 * GramJS logs through its Logger and, when that logger's level allows, also prints raw errors with
 * console.error. This logger's level is NONE, which closes every console path; its messages are
 * forwarded to the service log instead (scrubbed like every line), one level quieter than GramJS
 * rates them: GramJS reports recoverable reconnects as errors.
 */
export class GramjsLogBridge extends Logger {
  private readonly target: TglensLogger;

  constructor(target: TglensLogger) {
    super(LogLevel.NONE);
    this.target = target;
  }

  override _log(level: LogLevel, message: string): void {
    const text = scrubKnownSecrets(String(message));
    if (level === LogLevel.ERROR || level === LogLevel.WARN) this.target.warn({ gramjs: level }, text);
    else if (level === LogLevel.INFO) this.target.debug({ gramjs: level }, text);
    else this.target.trace({ gramjs: level }, text);
  }
}

/** A real GramJS client for a StringSession; not connected yet. */
export function createGramjsClient(credentials: TelegramCredentials, log: TglensLogger): TelegramClient {
  const client = new TelegramClient(new sessions.StringSession(credentials.session), credentials.apiId, credentials.apiHash, {
    // 0: GramJS sleeps through no FloodWait itself, so tglens sees, reports, caps and parks every one.
    floodSleepThreshold: 0,
    connectionRetries: 5,
    baseLogger: new GramjsLogBridge(log.child({ component: "gramjs" })),
  });
  client.onError = async (err: Error) => {
    log.warn({ err: { name: err.name, message: scrubKnownSecrets(err.message) } }, "GramJS reported an error");
  };
  return client;
}

/** The factory scrapers use unless a test injects another. */
export const gramjsClientFactory: TelegramClientFactory = createGramjsClient;

/** Seconds Telegram asks us to wait (FLOOD_WAIT_X, FLOOD_PREMIUM_WAIT_X), or undefined for other errors. */
export function floodWaitSeconds(err: unknown): number | undefined {
  return err instanceof errors.FloodWaitError ? Math.max(0, err.seconds) : undefined;
}

/** Telegram's answers that mean "no such chat, or this account may not read it". */
const CHAT_UNREADABLE = new Set([
  "USERNAME_NOT_OCCUPIED",
  "USERNAME_INVALID",
  "CHANNEL_PRIVATE",
  "CHANNEL_INVALID",
  "CHAT_ID_INVALID",
  "PEER_ID_INVALID",
  "CHAT_FORBIDDEN",
  "CHANNEL_PUBLIC_GROUP_NA",
]);

/** GramJS's own words when a username or id resolves to nothing (it throws plain Errors there). */
const GRAMJS_NOT_FOUND = /No user has ".*" as username|Cannot find any entity corresponding to|Could not find the input entity/;

/**
 * A TglensError for anything GramJS threw while `doing` something (with `chat`, if named): the chat
 * is not there or not readable → TGLENS_CHAT_NOT_FOUND naming it; the session is not authorised →
 * TGLENS_TELEGRAM_NOT_CONFIGURED; any other Telegram or network error → TGLENS_TELEGRAM.
 */
export function telegramFailure(err: unknown, doing: string, chat?: string): TglensError {
  if (err instanceof TglensError) return err;
  if (err instanceof errors.RPCError) {
    const what = err.errorMessage ?? "an error";
    if (chat !== undefined && CHAT_UNREADABLE.has(what)) {
      return new TglensError("TGLENS_CHAT_NOT_FOUND", `Telegram has no chat ${chat} that this account can read (${what})`, {
        details: { chat, telegram: what },
      });
    }
    if (err.code === 401) {
      return new TglensError(
        "TGLENS_TELEGRAM_NOT_CONFIGURED",
        `the Telegram session is not authorised any more (${what}): run \`tglens login\` again`,
        {
          details: { telegram: what },
        },
      );
    }
    return new TglensError("TGLENS_TELEGRAM", `Telegram answered ${what} (${err.code ?? "no code"}) while ${doing}`, { details: { telegram: what } });
  }
  const message = scrubKnownSecrets(err instanceof Error ? err.message : String(err));
  if (chat !== undefined && GRAMJS_NOT_FOUND.test(message))
    return new TglensError("TGLENS_CHAT_NOT_FOUND", `Telegram has no chat ${chat} that this account can read`, { details: { chat } });
  return new TglensError("TGLENS_TELEGRAM", `${doing} failed: ${message}`);
}
