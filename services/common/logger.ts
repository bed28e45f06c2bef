/**
 * Structured JSON logs (pino). Secrets — the bot token, the API hash, the session string — must
 * never reach a log line, whatever object carries them, so besides path redaction every line is
 * scrubbed of the secret values themselves just before it is written.
 */
import { pino, destination, stdTimeFunctions, type Logger, type DestinationStream } from "pino";

export type { Logger };

/** Environment variables whose values are secrets. */
export const SECRET_ENV = ["TELEGRAM_BOT_TOKEN", "TELEGRAM_API_HASH", "TELEGRAM_SESSION", "TELEGRAM_WEBHOOK_SECRET"] as const;

export function secretValues(env: NodeJS.ProcessEnv = process.env): string[] {
  return SECRET_ENV.map((name) => env[name]).filter((v): v is string => typeof v === "string" && v.length >= 6);
}

export function scrubSecrets(line: string, secrets: readonly string[]): string {
  let out = line;
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join("[REDACTED]");
  return out;
}

export function createLogger(opts: {
  level: string;
  name?: string;
  secrets?: readonly string[];
  destination?: DestinationStream;
}): Logger {
  const secrets = opts.secrets ?? secretValues();
  return pino(
    {
      level: opts.level,
      base: opts.name ? { service: opts.name } : {},
      timestamp: stdTimeFunctions.isoTime,
      redact: { paths: ["*.token", "*.apiHash", "*.session", "*.password", "req.headers.authorization", 'req.headers["x-telegram-bot-api-secret-token"]'], censor: "[REDACTED]" },
      hooks: secrets.length > 0 ? { streamWrite: (s: string) => scrubSecrets(s, secrets) } : {},
    },
    opts.destination ?? destination({ fd: 1, sync: false }),
  );
}
