/**
 * The API's error messages in the CLI's words. The API names fields as its schemas do
 * ("querystring.q must NOT have fewer than 1 characters"); a person at the CLI typed a query, an
 * option or a chat, so the message names those ("the query is empty"). Codes are kept as they are.
 */
import { TglensError, isTglensError } from "../services/common/errors.ts";

/** API field → what the person typed. */
const FIELDS: Record<string, string> = {
  "querystring.q": "the query",
  "querystring.k": "--k",
  "querystring.chat": "--chat",
  "querystring.sender": "--sender",
  "querystring.from": "--from",
  "querystring.to": "--to",
  "querystring.mode": "--mode",
  "querystring.around": "the message id",
  "querystring.before": "--context",
  "querystring.after": "--context",
  "body.chat": "the chat",
  "body.limit": "--limit",
  "body.since": "--since",
  "params.id": "the chat id",
};

/** Ajv's phrases (as the API's validation errors carry them) → plain ones. */
const PHRASES: [RegExp, (...m: string[]) => string][] = [
  [/^must NOT have fewer than 1 characters?$/, () => "is empty"],
  [/^must NOT have fewer than (\d+) characters$/, (n) => `must be at least ${n} characters long`],
  [/^must NOT have more than (\d+) characters$/, (n) => `is too long (at most ${n} characters)`],
  [/^must match pattern .*$/, () => "is not valid"],
  [/^must be integer$/, () => "must be a whole number"],
  [/^must be >= (\S+)$/, (n) => `must be at least ${n}`],
  [/^must be <= (\S+)$/, (n) => `must be at most ${n}`],
  [/^must be equal to one of the allowed values$/, () => "is not one of the choices"],
  [/^is required$/, () => "is missing"],
];

/** `message` with the API's field name and Ajv's phrasing replaced, when it has them. */
export function inCliWords(message: string): string {
  const m = /^((?:querystring|body|params)\.[\w.]+) (.*)$/s.exec(message);
  if (!m) return message;
  const [, field, rest] = m as unknown as [string, string, string];
  const name = FIELDS[field];
  if (!name) return message;
  for (const [re, say] of PHRASES) {
    const p = re.exec(rest);
    if (p) return `${name} ${say(...p.slice(1))}`;
  }
  return `${name} ${rest}`;
}

/** The error to show: a TglensError keeps its code, with its message in the CLI's words. */
export function cliError(err: unknown): unknown {
  if (!isTglensError(err)) return err;
  const message = inCliWords(err.message);
  return message === err.message ? err : new TglensError(err.code, message, { cause: err });
}
