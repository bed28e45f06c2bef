/**
 * One registry of error codes (as Fastify's FST_ERR_* and platformatic/kafka's errorCodes):
 * each code has its HTTP status and whether retrying can help. Tests assert on codes, never on
 * message text; the error table in docs/api.md is checked against this registry by a test.
 */

export interface ErrorSpec {
  status: number;
  retryable: boolean;
  description: string;
}

export const ERROR_CODES = {
  TGLENS_BAD_REQUEST: { status: 400, retryable: false, description: "A request field is missing or invalid." },
  TGLENS_BAD_JSON: { status: 400, retryable: false, description: "The body or file is not valid JSON." },
  TGLENS_BAD_UTF8: { status: 400, retryable: false, description: "The body or file is not valid UTF-8." },
  TGLENS_NOT_AN_EXPORT: {
    status: 422,
    retryable: false,
    description: "Valid JSON, but not a Telegram Desktop export (no messages or chats list).",
  },
  TGLENS_BAD_MESSAGE: {
    status: 422,
    retryable: false,
    description: "A message in the export is invalid (no id, bad date, oversized text).",
  },
  TGLENS_UNAUTHORIZED: {
    status: 401,
    retryable: false,
    description:
      "The request lacks the right secret: an API token (`Authorization: Bearer`, TGLENS_API_TOKEN) or the Telegram webhook's secret token.",
  },
  TGLENS_FORBIDDEN: {
    status: 403,
    retryable: false,
    description: "Not allowed: a read-only token used for a change, an unknown Host header, or a write from another origin.",
  },
  TGLENS_PATH_FORBIDDEN: {
    status: 403,
    retryable: false,
    description: "The export path lies outside TGLENS_IMPORT_DIR.",
  },
  TGLENS_NOT_FOUND: { status: 404, retryable: false, description: "No such file, job or chat." },
  TGLENS_TIMEOUT: { status: 408, retryable: true, description: "The request body stopped arriving (an upload idle too long)." },
  TGLENS_PAYLOAD_TOO_LARGE: { status: 413, retryable: false, description: "The request body is too large." },
  TGLENS_UNSUPPORTED_MEDIA_TYPE: { status: 415, retryable: false, description: "Send application/json (uncompressed, or gzip/br where accepted)." },
  TGLENS_HEADERS_TOO_LARGE: {
    status: 431,
    retryable: false,
    description: "The request's URL or headers are too long (a search query goes in the URL: keep it short).",
  },
  TGLENS_BUSY: { status: 429, retryable: true, description: "Too much work is queued (embedding, uploads); retry after the Retry-After seconds." },
  TGLENS_NOT_READY: { status: 503, retryable: true, description: "A dependency (model, bus, storage) is not ready." },
  TGLENS_UPSTREAM: { status: 502, retryable: true, description: "Another tglens service did not answer as expected." },
  TGLENS_SCHEMA: { status: 400, retryable: false, description: "A bus message does not match its topic's schema." },
  TGLENS_CONFIG: { status: 500, retryable: false, description: "The configuration is invalid." },
  TGLENS_TELEGRAM_NOT_CONFIGURED: {
    status: 503,
    retryable: false,
    description: "Live Telegram reading needs TELEGRAM_API_ID, TELEGRAM_API_HASH and a session (`tglens login`); the message names what is missing.",
  },
  TGLENS_CHAT_NOT_FOUND: {
    status: 404,
    retryable: false,
    description: "Telegram knows no chat by that username, id or link, or the account cannot read it.",
  },
  TGLENS_SESSION_LOCKED: { status: 409, retryable: false, description: "Another running tglens process uses this Telegram session." },
  TGLENS_TELEGRAM: { status: 502, retryable: true, description: "Telegram answered with an error; the message says which." },
  TGLENS_INTERNAL: { status: 500, retryable: true, description: "An unexpected error; see the logs." },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

export class TglensError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "TglensError";
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.retryable = ERROR_CODES[code].retryable;
    this.details = options?.details;
  }

  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details ? { code: this.code, message: this.message, details: this.details } : { code: this.code, message: this.message };
  }
}

export function isTglensError(err: unknown): err is TglensError {
  return err instanceof TglensError;
}

/** The code and message of any thrown value, for logs, DLQ records and job errors. */
export function describeError(err: unknown): { code: string; message: string } {
  if (isTglensError(err)) return { code: err.code, message: err.message };
  if (err instanceof Error) return { code: "TGLENS_INTERNAL", message: err.message };
  return { code: "TGLENS_INTERNAL", message: String(err) };
}
