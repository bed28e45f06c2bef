/**
 * tglens — the command line. `serve` runs the embedded system; the other commands talk to a
 * running tglens through its HTTP API, or start one in-process when none is running.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { Argument, Command, InvalidArgumentError, Option } from "commander";
import cliProgress from "cli-progress";
import { loadConfig, SERVICE_NAMES, type Config, type ServiceName } from "../services/common/config.ts";
import { describeError, TglensError } from "../services/common/errors.ts";
import { createLogger, scrubKnownSecrets } from "../services/common/logger.ts";
import type { JobStatus } from "../services/common/jobs.ts";
import { createBus } from "../services/bus-factory.ts";
import { startEmbedded, type EmbeddedSystem } from "../services/embedded.ts";
import { buildService, runService, stopService } from "../services/wiring.ts";
import { GatewayClient, gatewayUrl } from "./client.ts";
import { importDemoOnFirstStart } from "./demo.ts";
import { login, terminalPrompter } from "./login.ts";
import { formatChats, formatChatStats, formatLiveSummary, formatResults, formatSummary } from "./format.ts";

function configOrExit(): Readonly<Config> {
  try {
    return loadConfig();
  } catch (err) {
    fail(err);
  }
}

function fail(err: unknown): never {
  const { code, message } = describeError(err);
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
  const client = new GatewayClient(gatewayUrl(config));
  if (await client.alive()) return { client };
  if (process.env.TGLENS_URL) throw new TglensError("TGLENS_UPSTREAM", `no tglens answers at ${process.env.TGLENS_URL}`);
  const log = createLogger({ level: config.logLevel === "info" ? "warn" : config.logLevel, destination: process.stderr as never });
  const local = await startEmbedded(config, log);
  return { client: new GatewayClient(config.urls["telegram-bot"]), local };
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

const positiveInt = (name: string, max: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new InvalidArgumentError(`${name} must be an integer from 1 to ${max}`);
  return n;
};

/** Follows a job with a progress bar; `total` is the messages expected, or null while a live read does not know. */
async function importWithProgress(client: GatewayClient, accepted: { job_id: string }, total: number | null, quiet: boolean): Promise<JobStatus> {
  const bar = new cliProgress.SingleBar(
    { format: "importing [{bar}] {percentage}% | {value}/{total} indexed | {eta_formatted} left", stream: process.stderr, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  const showBar = !quiet && process.stderr.isTTY;
  if (showBar) bar.start(Math.max(total ?? 1, 1), 0);
  const job = await client.waitForJob(accepted.job_id, (status) => {
    const c = status.counters;
    if (showBar && total === null) bar.setTotal(Math.max(c.scraped, 1));
    if (showBar) bar.update(c.stored + c.dropped + c.failed);
  });
  if (showBar) bar.stop();
  return job;
}

const program = new Command("tglens")
  .description("Search Telegram chats by meaning.")
  .version("0.1.0")
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
    const stop = async (signal: string) => {
      log.info({ signal }, "shutting down");
      await system.close();
      process.exit(0);
    };
    process.once("SIGINT", () => void stop("SIGINT"));
    process.once("SIGTERM", () => void stop("SIGTERM"));
    if (config.demo) void importDemoOnFirstStart(config, new GatewayClient(config.urls["telegram-bot"]), log);
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
      const bus = await createBus(config, log, `tglens-${name}`);
      const service = await buildService(name, { bus, config, log });
      await runService(service, config);
      log.info({ service: name, port: config.ports[name], bus: bus.kind }, "service running");
      stop = async () => {
        await stopService(service);
        await bus.close();
      };
    } catch (err) {
      fail(err);
    }
    const onSignal = (signal: string) => {
      log.info({ signal }, "shutting down");
      void stop().then(
        () => process.exit(0),
        (err: unknown) => fail(err),
      );
    };
    process.once("SIGINT", () => onSignal("SIGINT"));
    process.once("SIGTERM", () => onSignal("SIGTERM"));
  });

program
  .command("import")
  .description("import a Telegram Desktop export (result.json of a chat, or a full-account export), or read a chat live")
  .argument("<source>", "the export's result.json, or a chat to read live through your account: @username, a t.me link or its id")
  .option("--limit <n>", "live: read at most this many messages", positiveInt("--limit", 100_000_000))
  .option("--since <date>", "live: leave out messages before this date (ISO date or unix seconds)")
  .option("--json", "print the final job status as JSON")
  .action(async (source: string, opts: { json?: boolean; limit?: number; since?: string }) => {
    await withClient(async (client) => {
      const isFile = await fs.stat(path.resolve(source)).then((s) => s.isFile(), () => false);
      // Usernames, links and ids never name a file here; a missing file keeps its "no such file" error.
      if (!isFile && /^@\w+$|t\.me\/|^-?\d+$/i.test(source)) {
        const accepted = await client.importChat({ chat: source, ...(opts.limit ? { limit: opts.limit } : {}), ...(opts.since ? { since: opts.since } : {}) });
        const job = await importWithProgress(client, accepted, null, Boolean(opts.json));
        process.stdout.write(opts.json ? JSON.stringify(job, null, 2) + "\n" : formatLiveSummary(accepted, job));
        if (job.state !== "done") process.exitCode = 1;
        return;
      }
      const accepted = await client.importFile(source);
      const job = await importWithProgress(client, accepted, accepted.messages, Boolean(opts.json));
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
  .option("--chat <id>", "only this chat")
  .option("--sender <name>", "only this sender")
  .option("--from <date>", "not before (ISO date or unix seconds)")
  .option("--to <date>", "not after (ISO date or unix seconds)")
  .option("--json", "print results as JSON")
  .action(async (query: string, opts: { mode: string; k: number; chat?: string; sender?: string; from?: string; to?: string; json?: boolean }) => {
    await withClient(async (client) => {
      const results = await client.search({ q: query, k: opts.k, mode: opts.mode, chat: opts.chat, sender: opts.sender, from: opts.from, to: opts.to });
      process.stdout.write(opts.json ? JSON.stringify({ results }, null, 2) + "\n" : formatResults(results));
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
  .argument("<chat>", "chat id, or its exact name")
  .option("--json", "print as JSON")
  .action(async (chat: string, opts: { json?: boolean }) => {
    await withClient(async (client) => {
      const stats = await client.chatStats(await client.chatIdOf(chat));
      process.stdout.write(opts.json ? JSON.stringify(stats, null, 2) + "\n" : formatChatStats(stats));
    });
  });

program
  .command("forget")
  .description("remove a chat everywhere: index, database, raw and preprocessed files")
  .argument("<chat>", "chat id, or its exact name")
  .action(async (chat: string) => {
    await withClient(async (client) => {
      const res = await client.forget(await client.chatIdOf(chat));
      process.stdout.write(`forgot chat ${res.chat_id} (${res.messages} messages)\n`);
    });
  });

program.parseAsync().catch(fail);
