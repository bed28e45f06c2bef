/**
 * The Telegram bot (grammY), hosted by the gateway: search, imports and their progress, chats,
 * stats and forget, all through `BotBackend`, the same APIs the CLI uses. Only
 * TELEGRAM_ALLOWED_USER_IDS are served (the access check is the first middleware); Bot API calls
 * are retried on 429 and logged without the token; stopping is bounded even against a hung Bot
 * API. Why each: docs/architecture.md ("The bot's access and shutdown").
 */
import { setTimeout as sleep } from "node:timers/promises";
import { autoRetry } from "@grammyjs/auto-retry";
import { Bot, GrammyError, InlineKeyboard, type Context } from "grammy";
import type { Update } from "grammy/types";
import { describeError, isTglensError } from "../../common/errors.ts";
import { isFinished } from "../../common/jobs.ts";
import type { Logger } from "../../common/logger.ts";
import type { JobStatus, SearchHit } from "../api/client.ts";
import type { BotBackend } from "./backend.ts";
import { matchChat, type ChatMatch } from "../../common/chat-match.ts";
import { openTelegramFile } from "./files.ts";
import { escapeHtml, formatAllStats, formatChats, formatForgotten, formatJob, formatResults, formatStats, PAGE_SIZE } from "./format.ts";
import { pageData, parsePageData, SearchPages, type PagedSearch } from "./search-pages.ts";

export const REFUSAL = "Sorry, this is a private bot: it only answers the people its owner has allowed.";

/** How long stop() lets the final offset confirmation and in-flight replies run before aborting them. */
const STOP_GRACE_MS = 2_000;
/** How long it then waits for handlers to notice their aborted calls. */
const STOP_SETTLE_MS = 1_000;

/** Results a search may page through (Telegram users rarely go past a few pages). */
const MAX_RESULTS = 50;

export const COMMANDS = [
  { command: "search", description: "Search your chats by meaning: /search where did we decide on the venue" },
  { command: "similar", description: "Reply to a message with /similar to find messages like it" },
  { command: "index", description: "Index a chat: /index @username, a t.me link, a chat id, or an export file name" },
  { command: "chats", description: "List indexed chats" },
  { command: "stats", description: "Statistics: /stats, or /stats <chat>" },
  { command: "forget", description: "Remove a chat and everything stored about it: /forget <chat>" },
  { command: "help", description: "What this bot does" },
] as const;

const HELP = [
  "<b>tglens</b> searches your Telegram chats by meaning, not by keywords.",
  "",
  ...COMMANDS.map((c) => `/${c.command} — ${escapeHtml(c.description)}`),
  "",
  "In a private chat with the bot, any text without a command is searched as well.",
].join("\n");

export interface TelegramBotOptions {
  token: string;
  apiRoot: string;
  allowedUserIds: readonly number[];
  backend: BotBackend;
  log: Logger;
  /** How often an import's progress is checked (ms). */
  progressIntervalMs?: number;
}

export interface TelegramBot {
  readonly bot: Bot;
  /** Long polling, in the background; retries while the Bot API cannot be reached. */
  startPolling(): void;
  /** Registers the webhook with the Bot API (webhook mode). */
  setWebhook(url: string, secret: string): Promise<void>;
  /** Handles one update received on the webhook. */
  handleUpdate(update: Update): Promise<void>;
  /** Stops polling and every progress report. */
  stop(): Promise<void>;
}

export function createTelegramBot(opts: TelegramBotOptions): TelegramBot {
  const { backend, log } = opts;
  const allowed = new Set(opts.allowedUserIds);
  const bot = new Bot(opts.token, { client: { apiRoot: opts.apiRoot } });
  const pages = new SearchPages();
  const stopping = new AbortController();
  /** Aborted STOP_GRACE_MS after stop() begins: every Bot API call still running ends. */
  const hardStop = new AbortController();
  const progressMs = opts.progressIntervalMs ?? 2_000;
  const followers = new Set<Promise<void>>();
  // grammY types its signals with the abort-controller shim; at run time it takes the built-in one.
  const initSignal = stopping.signal as unknown as Parameters<Bot["init"]>[0];

  // Failures are logged by method and description, never with the token. Installed first, this
  // transformer sits next to the network and sees every attempt; auto-retry, installed after it,
  // waits a 429's retry_after (up to an hour) and tries again.
  bot.api.config.use(async (prev, method, payload, signal) => {
    try {
      const res = await prev(method, payload, signal);
      if (!res.ok) log.warn({ method, error_code: res.error_code, description: res.description }, "Bot API call failed");
      return res;
    } catch (err) {
      if (!stopping.signal.aborted) log.warn({ method, err: describeError(err) }, "Bot API call failed");
      throw err;
    }
  });
  bot.api.config.use(autoRetry({ maxRetryAttempts: 5, maxDelaySeconds: 3600 }));
  // Outermost: each call, with its retries and their waits, also ends when stopping runs out of grace
  // (grammY's final getUpdates in stop() carries no signal of its own). Signals are joined by hand:
  // grammY's come from the abort-controller shim, which AbortSignal.any() refuses.
  bot.api.config.use(async (prev, method, payload, signal) => {
    const either = new AbortController();
    const abort = () => either.abort();
    const sources = [hardStop.signal, ...(signal ? [signal as unknown as AbortSignal] : [])];
    for (const source of sources) {
      if (source.aborted) abort();
      else source.addEventListener("abort", abort);
    }
    try {
      return await prev(method, payload, either.signal as unknown as typeof signal);
    } finally {
      for (const source of sources) source.removeEventListener("abort", abort);
    }
  });
  if (allowed.size === 0) log.warn("TELEGRAM_ALLOWED_USER_IDS is empty: the bot refuses everyone");

  bot.use(async (ctx, next) => {
    const userId = ctx.from?.id;
    if (userId !== undefined && allowed.has(userId)) return next();
    log.info({ user_id: userId ?? null }, "refused a user who is not on TELEGRAM_ALLOWED_USER_IDS");
    if (ctx.callbackQuery) await ctx.answerCallbackQuery({ text: REFUSAL, show_alert: true });
    else if (ctx.message && ctx.chat) await ctx.reply(REFUSAL);
  });

  // Telegram marks a command with a bot_command entity, and grammY matches commands by it. A
  // minimal Bot API server may send the text alone: mark a leading "/word" the way Telegram would.
  bot.use(async (ctx, next) => {
    const msg = ctx.message;
    const command = msg?.text ? /^\/[A-Za-z0-9_]+(@\w+)?/.exec(msg.text) : null;
    if (msg && command && !msg.entities?.some((e) => e.type === "bot_command" && e.offset === 0)) {
      msg.entities = [{ type: "bot_command", offset: 0, length: command[0].length }, ...(msg.entities ?? [])];
    }
    await next();
  });

  const html = { parse_mode: "HTML" as const, link_preview_options: { is_disabled: true } };

  bot.command("start", (ctx) => ctx.reply(`Hello! ${HELP}`, html));
  bot.command("help", (ctx) => ctx.reply(HELP, html));

  /** Fetches one page of a search: asks for one more than the page needs, to know if there is a next. */
  async function searchPage(search: PagedSearch, page: number): Promise<{ hits: SearchHit[]; more: boolean }> {
    const want = Math.min(MAX_RESULTS, (page + 1) * PAGE_SIZE + 1 + (search.exclude ? 1 : 0));
    let hits = await backend.search({ q: search.query, k: want, ...(search.chat ? { chat: search.chat } : {}) });
    if (search.exclude) hits = hits.filter((h) => !(h.chat_id === search.exclude!.chat_id && h.message_id === search.exclude!.message_id));
    const start = page * PAGE_SIZE;
    return { hits: hits.slice(start, start + PAGE_SIZE), more: hits.length > start + PAGE_SIZE && start + PAGE_SIZE < MAX_RESULTS };
  }

  function pageKeyboard(searchId: string, page: number, more: boolean): InlineKeyboard | undefined {
    if (page === 0 && !more) return undefined;
    const kb = new InlineKeyboard();
    if (page > 0) kb.text("« Previous", pageData(searchId, page - 1));
    if (more) kb.text("Next »", pageData(searchId, page + 1));
    return kb;
  }

  async function replyWithSearch(ctx: Context, search: PagedSearch): Promise<void> {
    const id = pages.add(search);
    const { hits, more } = await searchPage(search, 0);
    const keyboard = pageKeyboard(id, 0, more);
    await ctx.reply(formatResults(search.title, hits, 0), { ...html, ...(keyboard ? { reply_markup: keyboard } : {}) });
  }

  bot.command("search", async (ctx) => {
    const query = ctx.match.trim();
    if (!query) return void (await ctx.reply("What should I look for? For example: /search where did we decide on the venue"));
    await replyWithSearch(ctx, { title: `Results for <b>${escapeHtml(query)}</b>`, query });
  });

  bot.command("similar", async (ctx) => {
    const source = ctx.message?.reply_to_message;
    const text = (source?.text ?? source?.caption ?? "").trim();
    if (!text) return void (await ctx.reply("Reply to a message with /similar to find messages like it."));
    await replyWithSearch(ctx, { title: "Messages like that one", query: text.slice(0, 2_000) });
  });

  bot.callbackQuery(/^page:/, async (ctx) => {
    const parsed = parsePageData(ctx.callbackQuery.data);
    const search = parsed && pages.get(parsed.searchId);
    if (!parsed || !search) return void (await ctx.answerCallbackQuery({ text: "This search has expired; please search again." }));
    const { hits, more } = await searchPage(search, parsed.page);
    const keyboard = pageKeyboard(parsed.searchId, parsed.page, more);
    await ctx.editMessageText(formatResults(search.title, hits, parsed.page), { ...html, ...(keyboard ? { reply_markup: keyboard } : {}) });
    await ctx.answerCallbackQuery({ text: `Page ${parsed.page + 1}` });
  });

  bot.command("chats", async (ctx) => {
    await ctx.reply(formatChats(await backend.chats()), html);
  });

  /** The chat a command names, or undefined after telling the person why there is none. */
  async function chatFromArgument(ctx: Context, input: string, usage: string) {
    if (!input) return void (await ctx.reply(usage));
    const match: ChatMatch<Awaited<ReturnType<BotBackend["chats"]>>[number]> = matchChat(input, await backend.chats());
    if ("chat" in match) return match.chat;
    if ("none" in match) return void (await ctx.reply(`No indexed chat matches “${input}”. /chats lists them.`));
    const names = match.several.slice(0, 10).map((c) => `• ${escapeHtml(c.name)} (id <code>${escapeHtml(c.chat_id)}</code>)`);
    return void (await ctx.reply(`Several chats match “${escapeHtml(input)}”; use the id:\n${names.join("\n")}`, html));
  }

  bot.command("stats", async (ctx) => {
    const input = ctx.match.trim();
    if (!input) return void (await ctx.reply(formatAllStats(await backend.chats()), html));
    const chat = await chatFromArgument(ctx, input, "");
    if (chat) await ctx.reply(formatStats(await backend.chatStats(chat.chat_id)), html);
  });

  bot.command("forget", async (ctx) => {
    const chat = await chatFromArgument(ctx, ctx.match.trim(), "Which chat? For example: /forget Team chat (or its id from /chats)");
    if (!chat) return;
    await ctx.reply(formatForgotten(chat.name, await backend.forget(chat.chat_id)), html);
  });

  bot.command("index", async (ctx) => {
    const input = ctx.match.trim();
    if (!input) {
      return void (await ctx.reply(
        "Which chat? /index @username, /index https://t.me/name, /index -1001234567890, or /index result.json (an export in the import directory).",
      ));
    }
    // Usernames and links never end in .json nor hold a path: those name an export file.
    const target = /\.json$/i.test(input) || (input.includes("/") && !/t\.me\//i.test(input)) ? { export_path: input } : { chat: input };
    const { job_id } = await backend.scrape(target);
    const sent = await ctx.reply(`Indexing ${escapeHtml(input)}… (job <code>${job_id}</code>)`, html);
    follow(sent.chat.id, sent.message_id, input, job_id);
  });

  // An export sent as a file (Telegram Desktop: Export chat history → JSON → result.json).
  bot.on("message:document", async (ctx) => {
    const doc = ctx.message.document;
    const name = doc.file_name ?? "the file";
    if (!/\.json$/i.test(name) && doc.mime_type !== "application/json") {
      return void (await ctx.reply(
        "To index a chat from a file, send its Telegram Desktop export: Export chat history → format JSON → result.json.",
      ));
    }
    let filePath: string | undefined;
    try {
      filePath = (await ctx.getFile()).file_path;
    } catch (err) {
      if (!(err instanceof GrammyError)) throw err;
    }
    if (!filePath) {
      return void (await ctx.reply(
        `Telegram does not let bots download ${escapeHtml(name)} (bots get files up to 20 MB). ` +
          "Put the export in the import directory and send /index <file name>.",
      ));
    }
    const { job_id, messages } = await backend.upload(await openTelegramFile(opts.apiRoot, opts.token, filePath, name, hardStop.signal));
    const sent = await ctx.reply(`Indexing ${escapeHtml(name)}: ${messages.toLocaleString("en")} messages… (job <code>${job_id}</code>)`, html);
    follow(sent.chat.id, sent.message_id, name, job_id);
  });

  bot.on("message:text", async (ctx) => {
    // In a private chat, plain text is a search; in groups the bot only acts on commands.
    if (ctx.chat.type !== "private" || ctx.message.text.startsWith("/")) return;
    const query = ctx.message.text.trim();
    await replyWithSearch(ctx, { title: `Results for <b>${escapeHtml(query)}</b>`, query });
  });

  bot.catch(async (err) => {
    const cause = err.error;
    // A named refusal (no credentials, nothing to search for) is expected: a warning, as the services log it.
    const expected = isTglensError(cause) && cause.code !== "TGLENS_INTERNAL";
    log[expected ? "warn" : "error"]({ update_id: err.ctx.update.update_id, err: describeError(cause) }, "bot update failed");
    if (cause instanceof GrammyError) return;
    // tglens errors are written for people (they name what is wrong or missing); others are not.
    const message = isTglensError(cause) ? cause.message : "something went wrong; the logs say more";
    await err.ctx.reply(`Sorry, that did not work: ${message}`).catch(() => undefined);
  });

  /** Edits the progress message as the job's counters move, then sends a final message. */
  function follow(chatId: number, messageId: number, label: string, jobId: string): void {
    const run = (async () => {
      let shown = "";
      let misses = 0;
      const deadline = Date.now() + 24 * 3600_000;
      while (!stopping.signal.aborted && Date.now() < deadline) {
        await sleep(progressMs, undefined, { signal: stopping.signal }).catch(() => undefined);
        if (stopping.signal.aborted) return;
        let job: JobStatus;
        try {
          job = await backend.job(jobId);
          misses = 0;
        } catch (err) {
          // The scraper may be restarting; a job it never knew of is reported after a while.
          if (++misses === 30) await bot.api.sendMessage(chatId, `Lost track of job ${jobId}: ${describeError(err).message}`).catch(() => undefined);
          continue;
        }
        const text = formatJob(label, job);
        if (text !== shown) {
          shown = text;
          await bot.api.editMessageText(chatId, messageId, text, html).catch(() => undefined);
        }
        if (isFinished(job.state)) {
          await bot.api.sendMessage(chatId, text, html).catch(() => undefined);
          return;
        }
      }
    })();
    followers.add(run);
    void run.finally(() => followers.delete(run));
  }

  let polling: Promise<void> | undefined;
  return {
    bot,
    startPolling() {
      polling ??= (async () => {
        for (let attempt = 1; !stopping.signal.aborted; attempt++) {
          try {
            // grammY's own init (getMe) retries network errors forever and cannot be cancelled from
            // bot.start(); initialising here with our signal lets stop() end it.
            await bot.init(initSignal);
            await bot.start({
              allowed_updates: ["message", "callback_query"],
              onStart: (me) => {
                attempt = 0;
                log.info({ bot: me.username }, "Telegram bot is polling for updates");
                void bot.api.setMyCommands([...COMMANDS]).catch(() => undefined);
              },
            });
            return;
          } catch (err) {
            if (stopping.signal.aborted) return;
            const wait = Math.min(60_000, 1_000 * 2 ** Math.min(attempt, 6));
            log.warn({ err: describeError(err), retry_in_ms: wait }, "Telegram bot cannot poll; retrying");
            await sleep(wait, undefined, { signal: stopping.signal }).catch(() => undefined);
          }
        }
      })();
    },
    async setWebhook(url, secret) {
      await bot.init(initSignal);
      await bot.api.setWebhook(url, { secret_token: secret, allowed_updates: ["message", "callback_query"] });
      void bot.api.setMyCommands([...COMMANDS]).catch(() => undefined);
      log.info({ bot: bot.botInfo.username }, "Telegram bot receives updates on its webhook");
    },
    async handleUpdate(update) {
      if (!bot.isInited()) await bot.init(initSignal);
      await bot.handleUpdate(update);
    },
    async stop() {
      stopping.abort();
      const started = Date.now();
      const grace = setTimeout(() => hardStop.abort(), STOP_GRACE_MS);
      try {
        // Confirms the last update's offset, unless the Bot API cannot answer within the grace.
        if (bot.isRunning()) await bot.stop().catch(() => undefined);
        const running = Promise.allSettled([polling, ...followers]);
        if (!(await settlesWithin(running, Math.max(0, STOP_GRACE_MS - (Date.now() - started))))) {
          hardStop.abort();
          if (!(await settlesWithin(running, STOP_SETTLE_MS))) log.warn("Telegram bot stopped with an update still being handled");
        }
      } finally {
        clearTimeout(grace);
        hardStop.abort();
      }
    },
  };
}

/** Whether `promise` settles within `ms` (it is not cancelled either way). */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  const timer = new AbortController();
  const settled = await Promise.race([
    promise.then(
      () => true,
      () => true,
    ),
    sleep(ms, false, { signal: timer.signal }).catch(() => false),
  ]);
  timer.abort();
  return settled;
}
