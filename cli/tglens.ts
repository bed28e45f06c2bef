/**
 * tglens — the command line. `serve` runs the embedded system; the other commands talk to a
 * running tglens through its HTTP API, or start one in-process when none is running.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { Argument, Command, InvalidArgumentError, Option } from "commander";
import { loadConfig, SERVICE_NAMES, type Config, type ServiceName } from "../services/common/config.ts";
import { describeError, TglensError } from "../services/common/errors.ts";
import { createLogger, scrubKnownSecrets } from "../services/common/logger.ts";
import type { JobStatus } from "../services/common/jobs.ts";
import { startEmbedded, type EmbeddedSystem } from "../services/run/embedded.ts";
import { startService } from "../services/run/distributed.ts";
import { stopOnSignals } from "../services/common/shutdown.ts";
import { TGLENS_VERSION } from "../services/common/service.ts";
import { gatewayClient, GatewayClient, gatewayUrl } from "./client.ts";
import { importDemoOnFirstStart } from "./demo.ts";
import { login, terminalPrompter } from "./login.ts";
import { formatChats, formatChatStats, formatConversation, formatForget, formatLiveSummary, formatResults, formatSummary } from "./format.ts";
import { DATE_FORMS, parseOptionalTimeBound } from "../services/common/dates.ts";
import { SearchQuery, type SearchMode } from "../services/storage/index.ts";
import { resolveChat } from "./chat-lookup.ts";
import { assertCanConfirm, confirm } from "./confirm.ts";
import { cliError } from "./errors.ts";
import { importProgress, settled } from "./progress.ts";

function configOrExit(): Readonly<Config> {
  try {
    return loadConfig();
  } catch (err) {
    fail(err);
  }
}

function fail(err: unknown): never {
  const { code, message } = describeError(cliError(err));
  process.stderr.write(scrubKnownSecrets(`tglens: ${message}${code === "TGLENS_INTERNAL" ? "" : ` (${code})`}\n`));
  process.exit(1);
}

// A crash prints its stack, and a failed request's URL may hold the bot token: scrub it first.
for (const event of ["uncaughtException", "unhandledRejection"] as const) {
  process.on(event, (err: unknown) => {
    process.stderr.write(scrubKnownSecrets(`tglens: ${event}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`));
    process.exit(1);
  });
}

/** A client for the running server, or for an embedded system started just for this command. */
async function connect(config: Readonly<Config>): Promise<{ client: GatewayClient; local?: EmbeddedSystem }> {
  const client = gatewayClient(config, gatewayUrl(config));
  if (await client.alive()) return { client };
  if (process.env.TGLENS_URL) throw new TglensError("TGLENS_UPSTREAM", `no tglens answers at ${process.env.TGLENS_URL}`);
  process.stderr.write(`tglens: no server answers at ${client.baseUrl}; running the pipeline in this process, on the data in ${config.dataDir}\n`);
  // The services' own warnings would repeat what the CLI says in its one line; TGLENS_LOG_LEVEL shows them.
  const log = createLogger({ level: config.logLevel === "info" ? "error" : config.logLevel, destination: process.stderr as never });
  const local = await startEmbedded(config, log);
  return { client: gatewayClient(config), local };
}

async function withClient<T>(fn: (client: GatewayClient, config: Readonly<Config>) => Promise<T>): Promise<void> {
  const config = configOrExit();
  let local: EmbeddedSystem | undefined;
  try {
    const connected = await connect(config);
    local = connected.local;
    await fn(connected.client, config);
  } catch (err) {
    await local?.close().catch(() => {});
    fail(err);
  }
  await local?.close();
}

const intFrom = (min: number) => (name: string, max: number) => (value: string) => {
  const n = Number(value);
  if (!/^\s*-?\d+\s*$/.test(value) || !Number.isInteger(n) || n < min || n > max) {
    throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
  }
  return n;
};
const positiveInt = intFrom(1);
const countUpTo = intFrom(0);

/** A message id as `tglens search` shows it (after #); negative for messages from before a group became a supergroup. */
function messageId(value: string): number {
  const n = Number(value);
  if (!/^-?\d{1,16}$/.test(value.trim()) || !Number.isSafeInteger(n)) {
    throw new InvalidArgumentError("the message id must be a whole number, as `tglens search` shows it after #");
  }
  return n;
}

/**
 * Follows a job with a progress bar; `total` is the messages expected, or null while a live read
 * does not know. The bar ends on the numbers the summary prints: `summaryTotal` of the job.
 */
async function importWithProgress(
  client: GatewayClient,
  accepted: { job_id: string },
  total: number | null,
  quiet: boolean,
  summaryTotal: (job: JobStatus) => number,
): Promise<JobStatus> {
  const bar = importProgress(process.stderr, total, !quiet);
  const job = await client.waitForJob(accepted.job_id, (status) => bar.update(status));
  bar.finish(settled(job), summaryTotal(job));
  return job;
}

/** A chat to read live: usernames, links and ids, which never name a file here. */
async function isLiveSource(source: string): Promise<boolean> {
  const exists = await fs.stat(path.resolve(source)).then(
    () => true,
    () => false,
  );
  return !exists && /^@\w+$|t\.me\/|^-?\d+$/i.test(source);
}

/** The query as the CLI checks it before asking: the API's limits, in the CLI's words. */
function checkQuery(query: string): void {
  if (query.trim() === "") throw new TglensError("TGLENS_BAD_REQUEST", "the query is empty: say what to look for");
  const max = SearchQuery.properties.q.maxLength!;
  if (query.length > max) throw new TglensError("TGLENS_BAD_REQUEST", `the query is too long: ${query.length} characters, at most ${max}`);
}

const program = new Command("tglens")
  .description("Search Telegram chats by meaning.")
  .version(TGLENS_VERSION)
  .showHelpAfterError()
  .configureOutput({ outputError: (str, write) => write(`tglens: ${str.replace(/^error: /, "")}`) });

program
  .command("serve")
  .description("run all five services in this process (embedded mode)")
  .action(async () => {
    const config = configOrExit();
    const log = createLogger({ level: config.logLevel });
    let system: EmbeddedSystem;
    try {
      system = await startEmbedded(config, log);
    } catch (err) {
      fail(err);
    }
    stopOnSignals(() => system.close(), log);
    if (config.demo) void importDemoOnFirstStart(config, gatewayClient(config), log);
  });

program
  .command("service")
  .description("run one service in this process; on Kafka when KAFKA_BROKERS is set (distributed mode)")
  .addArgument(new Argument("<name>", "the service").choices(SERVICE_NAMES))
  .action(async (name: ServiceName) => {
    const config = configOrExit();
    const log = createLogger({ level: config.logLevel });
    let stop: () => Promise<void>;
    try {
      stop = (await startService(name, config, log)).close;
    } catch (err) {
      fail(err);
    }
    stopOnSignals(stop, log);
  });

program
  .command("import")
  .description("import a Telegram Desktop export (result.json of a chat, or a full-account export), or read a chat live")
  .argument("<source>", "the export's result.json, or a chat to read live through your account: @username, a t.me link or its id")
  .option("--limit <n>", "live: read at most this many messages", positiveInt("--limit", 100_000_000))
  .option("--since <date>", `live: leave out messages before this date: ${DATE_FORMS}`)
  .option("--json", "print the final job status as JSON")
  .action(async (source: string, opts: { json?: boolean; limit?: number; since?: string }) => {
    const live = await isLiveSource(source);
    let since: number | undefined;
    try {
      if (!live && (opts.limit !== undefined || opts.since !== undefined)) {
        const given = [opts.limit !== undefined && "--limit", opts.since !== undefined && "--since"].filter(Boolean);
        throw new TglensError(
          "TGLENS_BAD_REQUEST",
          `${given.join(" and ")} ${given.length > 1 ? "are" : "is"} only for a live read (@username, t.me link or id); ` +
            "an export file is imported whole",
        );
      }
      since = parseOptionalTimeBound("--since", opts.since, "from");
    } catch (err) {
      fail(err);
    }
    await withClient(async (client) => {
      // A missing file keeps its "no such file" error.
      if (live) {
        const accepted = await client.scrape({
          chat: source,
          ...(opts.limit ? { limit: opts.limit } : {}),
          ...(since !== undefined ? { since: String(since) } : {}),
        });
        const job = await importWithProgress(client, accepted, null, Boolean(opts.json), (j) => j.counters.scraped);
        process.stdout.write(opts.json ? JSON.stringify(job, null, 2) + "\n" : formatLiveSummary(accepted, job));
        if (job.state !== "done") process.exitCode = 1;
        return;
      }
      const accepted = await client.importFile(source);
      const job = await importWithProgress(client, accepted, accepted.messages, Boolean(opts.json), () => accepted.messages);
      process.stdout.write(opts.json ? JSON.stringify(job, null, 2) + "\n" : formatSummary(accepted, job));
      if (job.state !== "done") process.exitCode = 1;
    });
  });

program
  .command("login")
  .description("log in to Telegram (phone, code, 2FA password) and save the session for live reading")
  .action(async () => {
    const config = configOrExit();
    await login({ config, prompt: terminalPrompter(), say: (line) => process.stdout.write(`${line}\n`) }).catch(fail);
  });

program
  .command("search")
  .description("search indexed chats")
  .argument("<query>", "what to look for")
  .addOption(new Option("--mode <mode>", "semantic, keyword or hybrid").choices(["semantic", "keyword", "hybrid"]).default("semantic"))
  .option("--k <n>", "how many results (1-100)", positiveInt("--k", 100), 10)
  .option("--chat <chat>", "only this chat: its id, @username or name (any case, or a part only it has)")
  .option("--sender <name>", "only this sender")
  .option("--from <date>", `not before: ${DATE_FORMS}; a date alone is from the start of that day`)
  .option("--to <date>", `not after: ${DATE_FORMS}; a date alone is to the end of that day`)
  .option("--json", "print results as JSON")
  .action(
    async (query: string, opts: { mode: SearchMode; k: number; chat?: string; sender?: string; from?: string; to?: string; json?: boolean }) => {
      let from: number | undefined;
      let to: number | undefined;
      try {
        checkQuery(query);
        from = parseOptionalTimeBound("--from", opts.from, "from");
        to = parseOptionalTimeBound("--to", opts.to, "to");
        if (from !== undefined && to !== undefined && from > to)
          throw new TglensError("TGLENS_BAD_REQUEST", `--from ${opts.from} is after --to ${opts.to}: no message can be in that range`);
      } catch (err) {
        fail(err);
      }
      await withClient(async (client) => {
        const chat = opts.chat === undefined ? undefined : resolveChat(opts.chat, await client.chats()).chat_id;
        const results = await client.search({ q: query, k: opts.k, mode: opts.mode, chat, sender: opts.sender, from, to });
        process.stdout.write(opts.json ? JSON.stringify({ results }, null, 2) + "\n" : formatResults(results));
      });
    },
  );

program
  .command("show")
  .description("a message in its conversation: the messages around it, what they reply to, the replies, each with its Telegram link")
  .argument("<chat>", "the chat: its id, @username or name (any case, or a part only it has)")
  .argument("<message_id>", "the message's id (`tglens search` shows it after #)", messageId)
  .option("--context <n>", "messages shown before it and after it (0-100)", countUpTo("--context", 100), 5)
  .option("--json", "print the API's answer as JSON")
  .action(async (chat: string, id: number, opts: { context: number; json?: boolean }) => {
    await withClient(async (client) => {
      const { chat_id } = resolveChat(chat, await client.chats());
      const page = await client.messages(chat_id, { around: id, before: opts.context, after: opts.context });
      process.stdout.write(opts.json ? JSON.stringify(page, null, 2) + "\n" : formatConversation(page));
    });
  });

program
  .command("chats")
  .description("list indexed chats with their message counts")
  .option("--json", "print as JSON")
  .action(async (opts: { json?: boolean }) => {
    await withClient(async (client) => {
      const chats = await client.chats();
      process.stdout.write(opts.json ? JSON.stringify({ chats }, null, 2) + "\n" : formatChats(chats));
    });
  });

program
  .command("stats")
  .description("a chat's statistics: messages, senders, dates, most active senders, messages per month")
  .argument("<chat>", "the chat: its id, @username or name (any case, or a part only it has)")
  .option("--json", "print as JSON")
  .action(async (chat: string, opts: { json?: boolean }) => {
    await withClient(async (client) => {
      const stats = await client.chatStats(resolveChat(chat, await client.chats()).chat_id);
      process.stdout.write(opts.json ? JSON.stringify(stats, null, 2) + "\n" : formatChatStats(stats));
    });
  });

program
  .command("forget")
  .description("remove a chat everywhere: index, database, raw and preprocessed files")
  .argument("<chat>", "the chat: its id, @username or name (any case, or a part only it has)")
  .option("--yes", "do not ask for confirmation (needed when not run on a terminal)")
  .action(async (input: string, opts: { yes?: boolean }) => {
    try {
      assertCanConfirm("forget", Boolean(opts.yes));
    } catch (err) {
      fail(err);
    }
    await withClient(async (client) => {
      const chat = resolveChat(input, await client.chats());
      const what = `${JSON.stringify(chat.name)} [${chat.chat_id}]: ${chat.messages} messages, its index and its files`;
      if (!(await confirm(`forget ${what}, for good?`, Boolean(opts.yes)))) {
        process.stderr.write("tglens: nothing forgotten\n");
        process.exitCode = 1;
        return;
      }
      const { out, warning } = formatForget(await client.forget(chat.chat_id));
      process.stdout.write(out);
      // Not gone everywhere yet: a script should know (the rest follows when those services are back).
      if (warning) {
        process.stderr.write(`tglens: ${warning}`);
        process.exitCode = 1;
      }
    });
  });

program.parseAsync().catch(fail);
