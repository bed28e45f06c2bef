/**
 * Structured JSON logs (pino). Secrets — the bot token, the API hash, the session string — must
 * never reach a log line, whatever object carries them, so besides path redaction every line is
 * scrubbed of the secret values themselves just before it is written.
 */
import { pino, destination, stdTimeFunctions, type Logger, type DestinationStream } from "pino";

export type { Logger };

/** Environment variables whose values are secrets. */
export const SECRET_ENV = [
  "TELEGRAM_BOT_TOKEN",
  "TELEGRAM_API_HASH",
  "TELEGRAM_SESSION",
  "TELEGRAM_WEBHOOK_SECRET",
  "TGLENS_API_TOKEN",
  "TGLENS_API_READ_TOKEN",
] as const;

export function secretValues(env: NodeJS.ProcessEnv = process.env): string[] {
  return SECRET_ENV.map((name) => env[name]).filter((v): v is string => typeof v === "string" && v.length >= 6);
}

/** Secrets that do not come from the environment (a session read from data/session), scrubbed by every logger. */
const runtimeSecrets = new Set<string>();

/** Adds a secret found at run time to what every logger of this process scrubs. */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 6) runtimeSecrets.add(value);
}

/** Removes every known secret (the environment's and those registered) from a text meant for output. */
export function scrubKnownSecrets(text: string): string {
  return scrubSecrets(scrubSecrets(text, secretValues()), [...runtimeSecrets]);
}

export function scrubSecrets(line: string, secrets: readonly string[]): string {
  let out = line;
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join("[REDACTED]");
  return out;
}

export function createLogger(opts: { level: string; name?: string; secrets?: readonly string[]; destination?: DestinationStream }): Logger {
  const secrets = opts.secrets ?? secretValues();
  return pino(
    {
      level: opts.level,
      base: opts.name ? { service: opts.name } : {},
      timestamp: stdTimeFunctions.isoTime,
      redact: {
        paths: ["*.token", "*.apiHash", "*.session", "*.password", "req.headers.authorization", 'req.headers["x-telegram-bot-api-secret-token"]'],
        censor: "[REDACTED]",
      },
      hooks: { streamWrite: (s: string) => scrubSecrets(scrubSecrets(s, secrets), [...runtimeSecrets]) },
    },
    opts.destination ?? destination({ fd: 1, sync: false }),
  );
}
