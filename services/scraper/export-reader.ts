/**
 * Streaming reader for Telegram Desktop exports (`result.json`, one chat or a whole account), so an
 * export of any size is read in bounded memory. @streamparser/json's Tokenizer and TokenParser are
 * wired by hand for exact big chat ids and a stack of frames (`track`) that knows which chat each
 * value belongs to and measures each message as it grows. Every failure is a TglensError with the
 * byte offset (TGLENS_BAD_UTF8, TGLENS_BAD_JSON, TGLENS_NOT_AN_EXPORT, TGLENS_BAD_MESSAGE); to change
 * nothing on bad input, run summariseExport over the whole file before readExport publishes.
 * The checks, the memory bounds and why: docs/architecture.md ("Export reader").
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { isUtf8 } from "node:buffer";
import type { Readable } from "node:stream";
import { Tokenizer, TokenizerError, TokenParser, TokenType, type ParsedElementInfo, type ParsedTokenInfo } from "@streamparser/json";
import { TglensError, isTglensError } from "../common/errors.ts";
import type { ChatRef, RawMessage } from "../common/schemas.ts";
import { chatRefFromExport, exportMessageToRaw, isSkip } from "./export-mapping.ts";
import { MessageIdSet } from "./message-id-set.ts";

/** The file Telegram Desktop writes a JSON export to, inside the export's folder. */
export const EXPORT_FILE_NAME = "result.json";

/** Default limit on one message's JSON, in bytes. Text is limited separately (MAX_TEXT_BYTES). */
export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;
/** JSON bytes of messages held while waiting for their chat's id/type (see the module comment). */
export const MAX_PENDING_BYTES = 64 * 1024 * 1024;
/** Read size for file sources. */
export const READ_CHUNK_BYTES = 64 * 1024;
/** The library has no nesting limit; a file of a million '[' would otherwise grow the stacks. */
const MAX_DEPTH = 1000;

export type ExportItem =
  | { kind: "chat"; chat: ChatRef }
  | { kind: "message"; message: RawMessage }
  | { kind: "skipped"; chat: ChatRef; reason: string; message_id?: number };

export type ExportSource = { path: string } | { stream: Readable };

export interface ReadExportOptions {
  jobId: string;
  /** Largest accepted message, as bytes of JSON (default DEFAULT_MAX_MESSAGE_BYTES). */
  maxMessageBytes?: number;
  signal?: AbortSignal;
  /** Called after each chunk with the bytes read so far and, for files, the file size. */
  onBytes?: (n: number, total?: number) => void;
}

export interface ExportSummary {
  chats: ChatRef[];
  /** Distinct messages: a message id that repeats within a chat counts once (its last version is imported). */
  messages: number;
  skipped: number;
  /** Earlier versions of repeated message ids, left out in favour of the last one. */
  replaced: number;
  bytes: number;
}

/** Reads an export and yields its chats, messages and skipped messages, in file order. */
export async function* readExport(source: ExportSource, opts: ReadExportOptions): AsyncGenerator<ExportItem> {
  const signal = opts.signal;
  signal?.throwIfAborted();
  let total: number | undefined;
  let input: AsyncIterable<unknown>;
  if ("path" in source) {
    try {
      const st = await stat(source.path);
      if (!st.isFile()) throw new TglensError("TGLENS_NOT_FOUND", `${source.path} is not a file`);
      total = st.size;
    } catch (err) {
      throw fsError(err, source.path);
    }
    input = createReadStream(source.path, { highWaterMark: READ_CHUNK_BYTES, ...(signal ? { signal } : {}) });
  } else {
    input = source.stream;
  }

  const parser = new ExportParser(opts.jobId, opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES);
  let bytes = 0;
  try {
    for await (const raw of input) {
      signal?.throwIfAborted();
      const chunk = toBuffer(raw);
      parser.write(chunk);
      bytes += chunk.length;
      opts.onBytes?.(bytes, total);
      for (const item of parser.take()) yield item;
    }
    signal?.throwIfAborted();
    parser.end();
    for (const item of parser.take()) yield item;
  } catch (err) {
    if (signal?.aborted && !isTglensError(err)) throw signal.reason;
    if ("path" in source) throw fsError(err, source.path);
    throw err;
  } finally {
    // Leaving early (break, error, abort) must not leave a file open.
    if ("path" in source) (input as Readable).destroy();
  }
}

/**
 * Reads a whole export without keeping its messages and returns what it holds; throws as
 * readExport does. Run it before publishing anything so a bad file changes nothing.
 */
export async function summariseExport(source: ExportSource, opts: ReadExportOptions): Promise<ExportSummary> {
  const chats: ChatRef[] = [];
  const seen = new MessageIdSet();
  let messages = 0;
  let skipped = 0;
  let replaced = 0;
  let bytes = 0;
  const onBytes = opts.onBytes;
  const inner: ReadExportOptions = {
    ...opts,
    onBytes: (n, total) => {
      bytes = n;
      onBytes?.(n, total);
    },
  };
  for await (const item of readExport(source, inner)) {
    if (item.kind === "message") {
      if (seen.add(item.message.chat.id, item.message.message_id)) messages++;
      else replaced++;
    } else if (item.kind === "skipped") skipped++;
    else chats.push(item.chat);
  }
  return { chats, messages, skipped, replaced, bytes };
}

function toBuffer(raw: unknown): Buffer {
  if (Buffer.isBuffer(raw)) return raw;
  if (raw instanceof Uint8Array) return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  // A string chunk means the stream was decoded already, and a lenient decoding has replaced any
  // invalid bytes with U+FFFD: nothing can be checked any more.
  throw new TglensError("TGLENS_INTERNAL", "readExport needs a byte stream; do not set an encoding on it");
}

function fsError(err: unknown, path: string): unknown {
  if (isTglensError(err)) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (code === "ENOENT" || code === "ENOTDIR") return new TglensError("TGLENS_NOT_FOUND", `no such file: ${path}`, { cause: err });
  if (code === "EISDIR") return new TglensError("TGLENS_NOT_FOUND", `${path} is not a file`, { cause: err });
  return err;
}

// ---------------------------------------------------------------------------------------------

const LISTS = ["chats", "left_chats"];
const HEADER = ["name", "type", "id"];
/** The values the TokenParser builds: chats' name/type/id and messages. The rest is only checked. */
const PATHS = ["$", ...LISTS.map((s) => `$.${s}.list.*`)].flatMap((c) => [...HEADER, "messages.*"].map((f) => `${c}.${f}`));

/** Keeps integers beyond 2^53 (chat ids) as their decimal text instead of rounding them: the library's hook for this. */
class ExactTokenizer extends Tokenizer {
  protected override parseNumber(text: string): number {
    const n = Number(text);
    return Number.isSafeInteger(n) || !/^-?\d+$/.test(text) ? n : (text as unknown as number);
  }
}

// Roles of open containers.
const R_OTHER = 0;
const R_ROOT = 1; // the top-level object: a single-chat export, or a full-account export
const R_CHATS = 2; // root.chats / root.left_chats
const R_LIST = 3; // chats.list / left_chats.list
const R_CHAT = 4; // an element of a list
const R_MSGS = 5; // a chat's messages array
const R_MSG = 6; // a message
const R_HEAD = 7; // a chat's name/type/id that is an object or array: built like a message, so bounded like one

interface Frame {
  role: number;
  arr: boolean;
  key: string | undefined; // objects: the member being read
  count: number; // arrays: elements begun
  chat: Chat | null;
  where: string;
}

interface Chat {
  where: string;
  msgsWhere: string;
  header: Record<string, unknown>;
  ref: ChatRef | null;
  /** Messages read before the chat's id and type (null until its messages array opens). */
  pending: Unmapped[] | null;
  pendingBytes: number;
}

/** A parsed message waiting to be mapped, with its place for errors. */
interface Unmapped {
  chat: Chat;
  value: unknown;
  index: number;
  at: number;
}

function newChat(where: string): Chat {
  const msgsWhere = where === "the export" ? "messages" : `${where}.messages`;
  return { where, msgsWhere, header: {}, ref: null, pending: null, pendingBytes: 0 };
}

/**
 * Push parser for one export: `write()` each chunk, `end()` at EOF, `take()` the items produced so
 * far. Throws TglensError on bad input and cannot be used after. (Exported for tests.)
 */
export class ExportParser {
  private readonly jobId: string;
  private readonly maxMessageBytes: number;
  private readonly maxPendingBytes: number;
  /** Longest string/number token (or container-valued header) outside messages. */
  private readonly tokenLimit: number;
  private readonly tokenizer = new ExactTokenizer({ emitPartialTokens: true });
  private readonly parser = new TokenParser({ paths: PATHS, keepStack: false });
  private out: ExportItem[] = [];
  /** This chunk's items, its messages still unmapped: see drain(). */
  private queue: (ExportItem | Unmapped)[] = [];

  private frames: Frame[] = [];
  private sawRoot = false;
  private sawList = false;
  private lastString: string | undefined;
  /** Offset of the last token given to the parser. */
  private tokenAt = 0;
  /** Index in `frames` of the value being built (R_MSG or R_HEAD), or -1; and its offset. */
  private cap = -1;
  private capAt = 0;

  /** Input bytes consumed, and bytes given to the tokenizer (not counting a byte order mark, `bom`). */
  private consumed = 0;
  private fed = 0;
  private bom = -1;
  /** The start of a character cut off by the previous chunk's end. */
  private carry: Buffer | null = null;

  constructor(jobId: string, maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES, maxPendingBytes = MAX_PENDING_BYTES) {
    this.jobId = jobId;
    this.maxMessageBytes = maxMessageBytes;
    this.maxPendingBytes = maxPendingBytes;
    this.tokenLimit = Math.max(maxMessageBytes, 64 * 1024);
    // Wired as JSONParser wires them (plus parseNumber, above), except that our frames see each token
    // after the parser accepted it, so malformed JSON is always TGLENS_BAD_JSON, never misread as
    // structure; and partial tokens (a string or number cut by the chunk's end) stop here, measured.
    this.tokenizer.onToken = (t) => {
      if (t.partial) return this.checkPartial(t.offset + this.bom);
      this.tokenAt = t.offset + this.bom;
      this.parser.write(t);
      this.track(t);
    };
    this.tokenizer.onEnd = () => {
      if (!this.parser.isEnded) this.parser.end();
    };
    // The parser ends itself after the top-level value; the tokenizer then refuses all but whitespace.
    this.parser.onEnd = () => {
      if (!this.tokenizer.isEnded) this.tokenizer.end();
    };
    this.parser.onValue = (v) => this.onValue(v);
  }

  /** Items produced since the last call. */
  take(): ExportItem[] {
    const items = this.out;
    this.out = [];
    return items;
  }

  write(chunk: Buffer): void {
    let data = chunk;
    let at = this.consumed; // offset of data[0]
    if (this.carry) {
      at -= this.carry.length;
      data = Buffer.concat([this.carry, chunk]);
    }
    this.consumed += chunk.length;
    // Hold back a character cut by the chunk's end: isUtf8 would refuse it, and it may be valid.
    const tail = incompleteTail(data);
    const body = data.subarray(0, data.length - tail);
    this.carry = tail > 0 ? Buffer.from(data.subarray(body.length)) : null; // copied: the chunk is not ours
    if (!isUtf8(body)) {
      const bad = firstInvalidUtf8(body, true);
      this.feed(body.subarray(0, bad)); // so that an earlier JSON error is the one reported
      throw new TglensError("TGLENS_BAD_UTF8", `invalid UTF-8 at byte ${at + bad}`, { details: { offset: at + bad } });
    }
    this.feed(body);
    this.drain();
  }

  end(): void {
    if (this.carry) {
      const at = this.consumed - this.carry.length;
      if (firstInvalidUtf8(this.carry, false) >= 0)
        throw new TglensError("TGLENS_BAD_UTF8", `invalid UTF-8 at byte ${at}`, { details: { offset: at } });
      throw badJson(at, `the file ends in the middle of a UTF-8 character at byte ${at} (truncated?)`);
    }
    // The known gotcha: end() on an ended tokenizer throws, and it has ended if the JSON was complete.
    if (!this.tokenizer.isEnded) {
      try {
        this.tokenizer.end();
      } catch (err) {
        if (isTglensError(err)) throw err;
        throw badJson(this.consumed, `the JSON ends early at byte ${this.consumed} (truncated file?)`, err);
      }
    }
    if (!this.sawRoot) throw badJson(0, "the file holds no JSON value (empty?)");
    this.drain();
  }

  private feed(bytes: Buffer): void {
    if (this.bom < 0 && bytes.length > 0) {
      // Skip a byte order mark here: the tokenizer would skip it too, but leave it out of its offsets.
      this.bom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
      bytes = bytes.subarray(this.bom);
    }
    this.fed += bytes.length;
    try {
      this.tokenizer.write(bytes);
    } catch (err) {
      throw this.jsonError(err);
    }
    // A message (or header value) is measured as it grows, so an oversized one is refused after at
    // most its limit plus one chunk, however it is made (one long string or many small fields).
    if (this.cap >= 0 && this.fed + this.bom - this.capAt > this.capLimit()) throw this.tooBig(this.fed + this.bom - this.capAt);
  }

  /**
   * Maps the chunk's messages and moves its items to `out`. Done per chunk, not per message, so that
   * (as before) a JSON error anywhere in the chunk is reported rather than an earlier message's error.
   */
  private drain(): void {
    for (const e of this.queue) {
      if ("kind" in e) {
        this.out.push(e);
        continue;
      }
      const ref = e.chat.ref!;
      const mapped = exportMessageToRaw(e.value, ref, this.jobId, () => `${e.chat.msgsWhere}[${e.index}] (byte ${e.at})`);
      if (isSkip(mapped)) this.out.push({ kind: "skipped", chat: ref, reason: mapped.skip, message_id: mapped.message_id });
      else this.out.push({ kind: "message", message: mapped });
    }
    this.queue = [];
  }

  /** A string or number still open at a chunk's end: the library would buffer it whole. */
  private checkPartial(at: number): void {
    if (this.cap < 0 && this.fed + this.bom - at > this.tokenLimit) throw notAnExport(at, `a single JSON value is over ${this.tokenLimit} bytes`);
  }

  private jsonError(err: unknown): unknown {
    if (isTglensError(err)) return err;
    // A TokenizerError names the byte it refused (offsets after a BOM); a TokenParserError refused the last token.
    const msg = (err as Error).message;
    const m = err instanceof TokenizerError ? /\(absolute position "(\d+)"\)/.exec(msg) : null;
    const at = m ? Number(m[1]) + this.bom : this.tokenAt;
    const what = `invalid JSON at byte ${at}: ${msg.replace(/ at chunk position "\d+" \(absolute position "\d+"\)/, "")}`;
    if (this.frames[this.cap]?.role !== R_MSG) return badJson(at, what, err);
    // In a message, its offset, as before (and as TGLENS_BAD_MESSAGE gives).
    const msgs = this.frames[this.cap - 1]!;
    return badJson(this.capAt, `${what} (in ${msgs.chat!.msgsWhere}[${msgs.count - 1}], byte ${this.capAt})`, err);
  }

  // --- structure -------------------------------------------------------------------------------

  private track(t: ParsedTokenInfo): void {
    const top = this.frames[this.frames.length - 1];
    switch (t.token) {
      case TokenType.COLON:
        top!.key = this.lastString;
        return;
      case TokenType.COMMA:
        return;
      case TokenType.RIGHT_BRACE:
      case TokenType.RIGHT_BRACKET:
        return this.close();
      case TokenType.STRING:
        this.lastString = t.value as string;
        if (top !== undefined && !top.arr) return; // a key, or a member's value
    }
    // A value begins.
    const at = this.tokenAt;
    const opens = t.token === TokenType.LEFT_BRACE || t.token === TokenType.LEFT_BRACKET;
    if (top === undefined) {
      this.sawRoot = true;
      if (t.token !== TokenType.LEFT_BRACE) throw notAnExport(at, "the top-level JSON value is not an object");
    } else if (top.arr) {
      top.count++;
      if (top.role === R_LIST && t.token !== TokenType.LEFT_BRACE) throw notAnExport(at, `${top.where}[${top.count - 1}] is not a chat object`);
      if (top.role === R_MSGS && t.token === TokenType.LEFT_BRACKET) throw notAMessage(top.chat!, top.count - 1, at);
    }
    if (opens) this.open(t.token === TokenType.LEFT_BRACKET, top, at);
  }

  private open(arr: boolean, parent: Frame | undefined, at: number): void {
    if (this.frames.length >= MAX_DEPTH) throw badJson(at, `invalid JSON at byte ${at}: nesting deeper than ${MAX_DEPTH}`);
    const f: Frame = { role: R_OTHER, arr, key: undefined, count: 0, chat: null, where: "" };
    const key = parent?.key ?? "";
    const role = parent?.role;
    if (parent === undefined) {
      f.role = R_ROOT;
      f.chat = newChat("the export");
    } else if ((role === R_ROOT || role === R_CHAT) && key === "messages" && arr) {
      f.role = R_MSGS;
      f.chat = parent.chat!;
      f.chat.pending ??= [];
      this.settle(f.chat, at, false); // yield the chat now, before its messages, if it can be
    } else if ((role === R_ROOT || role === R_CHAT) && HEADER.includes(key)) {
      f.role = R_HEAD;
    } else if (role === R_ROOT && !arr && LISTS.includes(key)) {
      f.role = R_CHATS;
      f.where = key;
    } else if (role === R_CHATS && key === "list" && arr) {
      f.role = R_LIST;
      f.where = `${parent.where}.list`;
      this.sawList = true;
    } else if (role === R_LIST) {
      f.role = R_CHAT;
      f.chat = newChat(`${parent.where}[${parent.count - 1}]`);
    } else if (role === R_MSGS) {
      f.role = R_MSG;
    }
    if ((f.role === R_MSG || f.role === R_HEAD) && this.cap < 0) {
      this.cap = this.frames.length;
      this.capAt = at;
    }
    this.frames.push(f);
  }

  private close(): void {
    const f = this.frames.pop()!;
    if (this.cap === this.frames.length) this.cap = -1;
    if (f.role === R_CHAT || (f.role === R_ROOT && f.chat!.pending !== null)) this.settle(f.chat!, this.tokenAt, true);
    else if (f.role === R_ROOT && !this.sawList) {
      throw notAnExport(this.tokenAt, 'the top-level object has no "messages" array and no "chats.list" / "left_chats.list" array');
    }
  }

  /** A value named in PATHS is complete; our frames have not seen its last token yet. */
  private onValue({ value, key }: ParsedElementInfo): void {
    const top = this.frames[this.frames.length - 1]!;
    const parent = this.frames[this.frames.length - 2];
    if (top.role === R_MSG) {
      const size = this.tokenAt + 1 - this.capAt;
      if (size > this.maxMessageBytes) throw this.tooBig(size);
      this.onMessage({ chat: parent!.chat!, value, index: key as number, at: this.capAt }, size);
    } else if (top.role === R_MSGS) {
      throw notAMessage(top.chat!, key as number, this.tokenAt); // a string, number, true, false or null
    } else if (top.role === R_ROOT || top.role === R_CHAT) {
      this.onHeader(top.chat!, key as string, value, this.tokenAt);
    } else if (top.role === R_HEAD) {
      this.onHeader(parent!.chat!, key as string, value, this.capAt);
    }
    // Otherwise a path matched inside something that is not an export's structure (e.g. an object `chats.list`).
  }

  private onHeader(chat: Chat, field: string, value: unknown, at: number): void {
    chat.header[field] = value;
    if (chat.pending !== null) this.settle(chat, at, false); // its messages were waiting for this
  }

  private onMessage(m: Unmapped, size: number): void {
    const chat = m.chat;
    if (chat.ref !== null) return void this.queue.push(m);
    chat.pending!.push(m);
    chat.pendingBytes += size;
    if (chat.pendingBytes > this.maxPendingBytes) {
      throw notAnExport(
        m.at,
        `${chat.where}: its "messages" come before its "id" and "type", and over ${this.maxPendingBytes} bytes of them ` +
          "arrived before those did; put name/type/id before messages as Telegram does",
      );
    }
  }

  /**
   * Yields the chat once its id and type are known (or, with `final`, at its end, when a missing id
   * is an error), then any messages held for it. A name arriving after that is ignored.
   */
  private settle(chat: Chat, at: number, final: boolean): void {
    if (chat.ref === null) {
      if (!final && (chat.header.id === undefined || chat.header.type === undefined)) return;
      try {
        chat.ref = chatRefFromExport(chat.header);
      } catch (err) {
        if (isTglensError(err)) throw new TglensError(err.code, `${err.message} (${chat.where}, near byte ${at})`, { details: { offset: at } });
        throw err;
      }
      this.queue.push({ kind: "chat", chat: chat.ref });
    }
    for (const m of chat.pending ?? []) this.queue.push(m);
    if (chat.pending !== null) chat.pending = [];
    chat.pendingBytes = 0;
  }

  private capLimit(): number {
    return this.frames[this.cap]!.role === R_MSG ? this.maxMessageBytes : this.tokenLimit;
  }

  private tooBig(size: number): TglensError {
    const at = this.capAt;
    if (this.frames[this.cap]!.role !== R_MSG) return notAnExport(at, `a chat header value is over ${this.tokenLimit} bytes`);
    const msgs = this.frames[this.cap - 1]!;
    return new TglensError(
      "TGLENS_BAD_MESSAGE",
      `${msgs.chat!.msgsWhere}[${msgs.count - 1}] (byte ${at}): the message is over ${this.maxMessageBytes} bytes of JSON (${size}+ read)`,
      { details: { offset: at, limit: this.maxMessageBytes } },
    );
  }
}

function badJson(offset: number, message: string, cause?: unknown): TglensError {
  return new TglensError("TGLENS_BAD_JSON", message, { details: { offset }, ...(cause === undefined ? {} : { cause }) });
}

function notAnExport(offset: number, what: string): TglensError {
  return new TglensError("TGLENS_NOT_AN_EXPORT", `not a Telegram export: ${what} (byte ${offset})`, { details: { offset } });
}

function notAMessage(chat: Chat, index: number, offset: number): TglensError {
  return new TglensError("TGLENS_BAD_MESSAGE", `${chat.msgsWhere}[${index}] (byte ${offset}) is not a message object`, { details: { offset } });
}

// --- UTF-8 -----------------------------------------------------------------------------------
// isUtf8 checks each chunk; these two only say where a chunk may be cut and, on failure, where.

/** Length (0-3) of the start of a character cut off at the end of buf, to join to the next chunk. */
function incompleteTail(buf: Uint8Array): number {
  for (let k = 1; k <= 3 && k <= buf.length; k++) {
    const b = buf[buf.length - k]!;
    if (b < 0x80) return 0;
    if (b >= 0xc0) return b >= 0xc2 && b <= 0xf4 && (b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2) > k ? k : 0;
  }
  return 0;
}

/** Index of the first byte of buf that breaks UTF-8, or -1; a character cut off by buf's end counts only if `cutIsBad`. */
function firstInvalidUtf8(buf: Uint8Array, cutIsBad: boolean): number {
  for (let i = 0; i < buf.length;) {
    const b = buf[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    // Continuation bytes needed, and the range of the first (no overlongs, surrogates or > U+10FFFF).
    const need = b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : 0;
    if (need === 0) return i;
    const lo = b === 0xe0 ? 0xa0 : b === 0xf0 ? 0x90 : 0x80;
    const hi = b === 0xed ? 0x9f : b === 0xf4 ? 0x8f : 0xbf;
    for (let k = 1; k <= need; k++) {
      if (i + k >= buf.length) return cutIsBad ? i : -1;
      const c = buf[i + k]!;
      if (c < (k === 1 ? lo : 0x80) || c > (k === 1 ? hi : 0xbf)) return i;
    }
    i += need + 1;
  }
  return -1;
}
