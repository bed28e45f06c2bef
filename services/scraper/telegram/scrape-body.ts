/**
 * The body of a live `POST /scrape`: `{"chat": "...", "limit"?: integer ≥ 1, "since"?: unix seconds
 * or ISO date}`. Checked whole before anything happens, each problem naming its field.
 */
import { parseTimeBound } from "../../common/dates.ts";
import { TglensError } from "../../common/errors.ts";
import { formatChatInput, parseChatInput } from "./chat-input.ts";

export interface LiveScrapeBody {
  /** The chat in canonical form ("@name" or an id), as scrape-topic carries it. */
  chat: string;
  limit?: number;
  /** Unix seconds. */
  since?: number;
}

const FIELDS = new Set(["chat", "limit", "since"]);

function bad(field: string, problem: string): TglensError {
  return new TglensError("TGLENS_BAD_REQUEST", `body.${field} ${problem}`, { details: { field } });
}

/** Unix seconds from unix seconds (a number or digit string) or an ISO 8601 date (services/common/dates.ts). */
export function parseSince(value: unknown): number {
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return value;
  if (typeof value === "string" && value.trim() !== "") {
    let seconds: number;
    try {
      seconds = parseTimeBound("body.since", value, "from");
    } catch (err) {
      throw new TglensError("TGLENS_BAD_REQUEST", (err as Error).message, { details: { field: "since" } });
    }
    if (seconds >= 0) return seconds;
  }
  throw bad("since", `must be unix seconds or an ISO 8601 date, got ${JSON.stringify(value)}`);
}

export function parseLiveScrapeBody(body: Record<string, unknown>): LiveScrapeBody {
  for (const key of Object.keys(body)) {
    if (!FIELDS.has(key)) throw bad(key, "is not a field of a live scrape request (chat, limit, since)");
  }
  const out: LiveScrapeBody = { chat: formatChatInput(parseChatInput(body.chat)) };
  if (body.limit !== undefined) {
    if (typeof body.limit !== "number" || !Number.isSafeInteger(body.limit) || body.limit < 1)
      throw bad("limit", `must be an integer >= 1, got ${JSON.stringify(body.limit)}`);
    out.limit = body.limit;
  }
  if (body.since !== undefined) out.since = parseSince(body.since);
  return out;
}
