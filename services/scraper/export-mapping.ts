/**
 * The one mapping from a Telegram message to the raw record (`RawMessage`). The export reader uses
 * `exportMessageToRaw`, and live messages go through it too once gramjs-mapping.ts has put them in
 * an export's shape, so both sources give the same text, sender ids and limits. Service messages
 * are skipped with a reason; only the id, the date and the text size are validated. The decisions
 * (media without text, polls, dates without a zone): docs/architecture.md ("Export mapping").
 */
import { TglensError } from "../common/errors.ts";
import { MAX_ABS_MESSAGE_ID, MAX_UNIX_SECONDS, MESSAGE_SCHEMA_VERSION, type ChatRef, type RawMessage, type Sender } from "../common/schemas.ts";

/** Longest text accepted, in UTF-8 bytes (Telegram's own limit is 4096 characters). */
export const MAX_TEXT_BYTES = 64 * 1024;

export type SkipReason = "service" | "unsupported";
export type MappedMessage = RawMessage | { skip: SkipReason; message_id: number };

export function isSkip(m: MappedMessage): m is { skip: SkipReason; message_id: number } {
  return "skip" in m;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function badMessage(where: string, field: string, problem: string): TglensError {
  return new TglensError("TGLENS_BAD_MESSAGE", `${where}: field "${field}" ${problem}`, { details: { where, field } });
}

/** Text of one element of a `text` array: a plain string or an entity object. */
export function entityText(part: unknown): string {
  if (typeof part === "string") return part;
  if (!isObj(part)) return "";
  const text = typeof part.text === "string" ? part.text : "";
  if (part.type === "text_link" && typeof part.href === "string" && part.href !== "") {
    const href = part.href;
    if (text === "" || text === href) return href;
    return `${text} (${href})`;
  }
  return text;
}

/**
 * A message's text as Telegram shows it: a plain string, or an array mixing strings and entity
 * objects `{type, text, href?, ...}` flattened to one string. Links stay visible: a `text_link`
 * becomes "label (href)"; mentions, hashtags, code and the rest keep their own text.
 * null/undefined give "". Returns undefined for any other type, so the caller can report it.
 */
export function flattenText(text: unknown): string | undefined {
  if (typeof text === "string") return text;
  if (text === undefined || text === null) return "";
  if (Array.isArray(text)) {
    let out = "";
    for (const part of text) out += entityText(part);
    return out;
  }
  return undefined;
}

/**
 * A sender/peer id in the `user123` / `channel123` / `chat123` form. Old exports write a bare number
 * (or a digit string), which is a user id; negative numbers follow the Bot API's marked ids
 * (-100xxxxxxxxxx is a channel, other negatives a basic group). Anything else gives null.
 */
export function normaliseSenderId(v: unknown): string | null {
  if (typeof v === "string") {
    const s = v.trim();
    if (s === "") return null;
    if (/^-?\d+$/.test(s)) return normaliseSenderId(Number(s));
    return s;
  }
  if (typeof v === "number" && Number.isSafeInteger(v)) {
    if (v >= 0) return `user${v}`;
    if (v <= -1_000_000_000_000) return `channel${-v - 1_000_000_000_000}`;
    return `chat${-v}`;
  }
  if (typeof v === "bigint") return normaliseSenderId(Number(v));
  return null;
}

const EXPORT_DATE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * Unix seconds from an export's `*_unixtime` (a string or number of seconds) or, when that is
 * absent, its `date`-style string ("2023-01-02T03:04:05", read as UTC unless it carries a zone).
 * Returns undefined when neither parses, or when the date lies outside 1970 to 9999 (MAX_UNIX_SECONDS):
 * a date JavaScript's Date cannot hold would break every listing that shows it.
 */
export function parseExportDate(unixtime: unknown, date: unknown): number | undefined {
  const inRange = (s: number | undefined) => (s !== undefined && s >= 0 && s <= MAX_UNIX_SECONDS ? s : undefined);
  if (unixtime !== undefined && unixtime !== null) {
    if (typeof unixtime === "number") return Number.isSafeInteger(unixtime) ? inRange(unixtime) : undefined;
    if (typeof unixtime === "string" && /^-?\d{1,15}$/.test(unixtime.trim())) return inRange(Number(unixtime.trim()));
    return undefined;
  }
  return inRange(parseDateText(date));
}

function parseDateText(date: unknown): number | undefined {
  if (typeof date !== "string") return undefined;
  const m = EXPORT_DATE.exec(date.trim());
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(ms);
  // Reject 2023-02-31 and 25:00:00, which Date.UTC would roll over.
  if (
    back.getUTCFullYear() !== y ||
    back.getUTCMonth() !== mo - 1 ||
    back.getUTCDate() !== d ||
    back.getUTCHours() !== h ||
    back.getUTCMinutes() !== mi ||
    back.getUTCSeconds() !== s
  ) {
    return undefined;
  }
  let offsetMin = 0;
  const zone = m[7];
  if (zone && zone !== "Z") {
    const sign = zone[0] === "-" ? -1 : 1;
    const digits = zone.slice(1).replace(":", "");
    offsetMin = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2)));
  }
  return Math.floor(ms / 1000) - offsetMin * 60;
}

/** Throws TGLENS_BAD_MESSAGE when `text` is longer than MAX_TEXT_BYTES of UTF-8. */
export function checkTextSize(text: string, where: string | (() => string)): void {
  // A UTF-16 code unit is at most 3 UTF-8 bytes, so short strings need no byte count.
  if (text.length * 3 <= MAX_TEXT_BYTES) return;
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > MAX_TEXT_BYTES)
    throw badMessage(typeof where === "string" ? where : where(), "text", `is ${bytes} bytes, over the ${MAX_TEXT_BYTES}-byte limit`);
}

/** The kind of media a message carries, or null. */
export function exportMediaKind(msg: Obj): string | null {
  if (typeof msg.media_type === "string" && msg.media_type !== "") return msg.media_type;
  if (msg.photo !== undefined) return "photo";
  if (typeof msg.sticker_emoji === "string") return "sticker";
  if (msg.file !== undefined) return "document";
  if (msg.poll !== undefined) return "poll";
  if (msg.location_information !== undefined) return "location";
  if (msg.contact_information !== undefined) return "contact";
  if (msg.game_title !== undefined) return "game";
  if (msg.invoice_information !== undefined) return "invoice";
  return null;
}

/** A poll's question and options as text ("question\n- a\n- b"), or "" if it has neither. */
export function pollText(poll: unknown): string {
  if (!isObj(poll)) return "";
  const lines: string[] = [];
  const question = flattenText(poll.question);
  if (question) lines.push(question);
  if (Array.isArray(poll.answers)) {
    for (const a of poll.answers) {
      const t = isObj(a) ? flattenText(a.text) : undefined;
      if (t) lines.push(`- ${t}`);
    }
  }
  return lines.join("\n");
}

function optionalInt(v: unknown): number | null {
  if (typeof v === "number" && Number.isSafeInteger(v)) return v;
  if (typeof v === "string" && /^-?\d{1,15}$/.test(v)) return Number(v);
  return null;
}

function optionalString(v: unknown): string | null {
  if (typeof v === "string") return v;
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  return null;
}

/**
 * The chat a message belongs to, from an export's chat object (`{name, type, id, ...}`): the id
 * becomes a decimal string, a missing name "" ("Saved Messages" for saved_messages), a missing type
 * "unknown". `idText` is the id's literal JSON text when the caller has it, so ids beyond 2^53 keep
 * every digit. A chat without a usable id is TGLENS_NOT_AN_EXPORT.
 */
export function chatRefFromExport(obj: unknown, idText?: string): ChatRef {
  if (!isObj(obj)) throw new TglensError("TGLENS_NOT_AN_EXPORT", "a chat entry is not a JSON object");
  let id: string | undefined;
  if (idText !== undefined && /^-?\d{1,20}$/.test(idText)) id = idText;
  else if (typeof obj.id === "number" && Number.isSafeInteger(obj.id)) id = String(obj.id);
  else if (typeof obj.id === "string" && /^-?\d{1,20}$/.test(obj.id.trim())) id = obj.id.trim();
  const type = typeof obj.type === "string" && obj.type !== "" ? obj.type : "unknown";
  const name = typeof obj.name === "string" ? obj.name : type === "saved_messages" ? "Saved Messages" : "";
  if (id === undefined) {
    throw new TglensError(
      "TGLENS_NOT_AN_EXPORT",
      `chat ${JSON.stringify(name || type)} has no usable "id": it must be an integer (got ${describeValue(obj.id)})`,
    );
  }
  return { id, name, type };
}

function describeValue(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "an object";
  return `${typeof v} ${JSON.stringify(v).slice(0, 40)}`;
}

/**
 * Maps one message of a Telegram Desktop export to the raw record, or says why it is skipped.
 * `where` names the message in errors (the reader passes e.g. `chats.list[2].messages[17] (byte 1234)`).
 * Throws TGLENS_BAD_MESSAGE for a message that is not an object, has no integer id, has no parseable
 * date, has text of an unknown shape, or text over MAX_TEXT_BYTES.
 */
export function exportMessageToRaw(msg: unknown, chat: ChatRef, jobId: string, whereArg: string | (() => string) = "message"): MappedMessage {
  // `where` is only needed for errors; the reader passes a function so the happy path builds no string.
  let whereText: string | undefined;
  const whereOf = (): string => (whereText ??= typeof whereArg === "string" ? whereArg : whereArg());
  if (!isObj(msg)) {
    const where = whereOf();
    throw new TglensError("TGLENS_BAD_MESSAGE", `${where}: is ${describeValue(msg)}, not a message object`, { details: { where } });
  }
  const id = msg.id;
  if (typeof id !== "number" || !Number.isSafeInteger(id) || Math.abs(id) > MAX_ABS_MESSAGE_ID) {
    throw badMessage(whereOf(), "id", `must be an integer (got ${describeValue(id)})`);
  }
  const atOf = (): string => `${whereOf()} (id ${id})`;

  const type = msg.type;
  if (type === "service") return { skip: "service", message_id: id };
  if (type !== undefined && type !== "message") return { skip: "unsupported", message_id: id };

  const date = parseExportDate(msg.date_unixtime, msg.date);
  if (date === undefined) {
    const field = msg.date_unixtime !== undefined && msg.date_unixtime !== null ? "date_unixtime" : "date";
    throw badMessage(atOf(), field, `is not a date from 1970 to 9999 (got ${describeValue(msg[field])})`);
  }

  let edited: number | null = null;
  if ((msg.edited_unixtime !== undefined && msg.edited_unixtime !== null) || (msg.edited !== undefined && msg.edited !== null)) {
    const e = parseExportDate(msg.edited_unixtime, msg.edited);
    if (e === undefined) {
      const field = msg.edited_unixtime !== undefined && msg.edited_unixtime !== null ? "edited_unixtime" : "edited";
      throw badMessage(atOf(), field, `is not a date from 1970 to 9999 (got ${describeValue(msg[field])})`);
    }
    edited = e;
  }

  let text = flattenText(msg.text);
  if (text === undefined) throw badMessage(atOf(), "text", `must be a string or an array (got ${describeValue(msg.text)})`);
  if (msg.text === undefined && Array.isArray(msg.text_entities)) text = flattenText(msg.text_entities) ?? "";
  if (text === "" && msg.poll !== undefined) text = pollText(msg.poll);
  checkTextSize(text, atOf);

  const sender: Sender = { id: normaliseSenderId(msg.from_id), name: optionalString(msg.from) };

  return {
    v: MESSAGE_SCHEMA_VERSION,
    job_id: jobId,
    chat,
    message_id: id,
    date,
    sender,
    reply_to: optionalInt(msg.reply_to_message_id),
    forwarded_from: optionalString(msg.forwarded_from),
    edited,
    media: exportMediaKind(msg),
    text,
  };
}
