/**
 * The message store: SQLite through better-sqlite3, the source of truth for messages and their vectors (every vector
 * index can be rebuilt from it). The layout is versioned by PRAGMA user_version = DATABASE_SCHEMA_VERSION and changed only
 * by MIGRATIONS; its tables and columns are described in docs/architecture.md ("Message store").
 *
 * Every Database and Statement made here is kept alive for good (openDatabase, prepareRetained; `exec` rather than
 * db.pragma(), paged all() rather than iterate()). That worked around better-sqlite3 12 aborting on Node ≥ 24.19 when V8
 * collected one; the pinned 13 is not affected, so the retention is no longer needed but harmless (docs/architecture.md).
 */
import Database from "better-sqlite3";
import { TglensError } from "../common/errors.ts";
import type { ChatStats, ChatSummary, MonthCount, SearchFilters, SenderCount, StoredMessage } from "./types.ts";

type DB = Database.Database;

const RETAINED: object[] = [];
function retain<T extends object>(o: T): T {
  RETAINED.push(o);
  return o;
}
/** A better-sqlite3 connection kept alive for good (see the header); for tools and tests. */
export function openDatabase(path: string, options?: Database.Options): DB {
  return retain(new Database(path, options));
}
/** db.prepare(), with the statement kept alive for good (see the header). */
export function prepareRetained(db: DB, sql: string): Database.Statement {
  return retain(db.prepare(sql));
}

/** MIGRATIONS[i] takes a database at user_version i to i + 1 (run inside one transaction). */
export const MIGRATIONS: ReadonlyArray<(db: DB) => void> = [
  (db) => {
    db.exec(`
      CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value INTEGER NOT NULL
      ) STRICT;
      INSERT INTO meta(key, value) VALUES ('next_seq', 1);

      CREATE TABLE chats (
        chat_id TEXT PRIMARY KEY,
        name    TEXT NOT NULL,
        type    TEXT NOT NULL,
        gen     INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE messages (
        chat_id        TEXT    NOT NULL REFERENCES chats(chat_id) ON DELETE CASCADE,
        message_id     INTEGER NOT NULL,
        seq            INTEGER NOT NULL UNIQUE,
        date           INTEGER NOT NULL,
        sender_id      TEXT,
        sender         TEXT,
        sender_key     TEXT,
        text           TEXT    NOT NULL,
        clean_text     TEXT    NOT NULL,
        lang           TEXT    NOT NULL,
        reply_to       INTEGER,
        forwarded_from TEXT,
        edited         INTEGER,
        media          TEXT,
        vec            BLOB    NOT NULL,
        PRIMARY KEY (chat_id, message_id)
      ) STRICT;
      CREATE INDEX messages_chat_seq    ON messages(chat_id, seq);
      CREATE INDEX messages_chat_date   ON messages(chat_id, date);
      CREATE INDEX messages_chat_sender ON messages(chat_id, sender_id, sender_key);
      CREATE INDEX messages_chat_sname  ON messages(chat_id, sender_key);

      CREATE VIRTUAL TABLE messages_fts USING fts5(
        text, clean_text,
        content = 'messages', content_rowid = 'seq',
        tokenize = 'unicode61 remove_diacritics 2'
      );
      CREATE TRIGGER messages_fts_ai AFTER INSERT ON messages BEGIN
        INSERT INTO messages_fts(rowid, text, clean_text) VALUES (new.seq, new.text, new.clean_text);
      END;
      CREATE TRIGGER messages_fts_ad AFTER DELETE ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, text, clean_text)
          VALUES ('delete', old.seq, old.text, old.clean_text);
      END;
      CREATE TRIGGER messages_fts_au AFTER UPDATE ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, text, clean_text)
          VALUES ('delete', old.seq, old.text, old.clean_text);
        INSERT INTO messages_fts(rowid, text, clean_text) VALUES (new.seq, new.text, new.clean_text);
      END;
    `);
  },
  // v2: the chat's public @username. Only live reading knows it (exports do not), so it is nullable.
  (db) => {
    db.exec("ALTER TABLE chats ADD COLUMN username TEXT");
  },
  // v3: chat statistics count a chat's rows per sender and name each sender by their latest
  // message. With the date and the name in the index, that is one scan of the chat's index entries
  // instead of a table row read per message. The old index is a prefix of the new one: the sender
  // filter uses the new one the same way.
  (db) => {
    db.exec(`
      DROP INDEX messages_chat_sender;
      CREATE INDEX messages_chat_sender ON messages(chat_id, sender_id, sender_key, date, sender);
    `);
  },
  // v4: pages of a chat in chat order (date, then message id) and the replies to a message. With the
  // message id in the date index, the messages before or after one are an index range in order (the
  // old index is a prefix of the new one); replies are looked up in an index of their own.
  (db) => {
    db.exec(`
      DROP INDEX messages_chat_date;
      CREATE INDEX messages_chat_date ON messages(chat_id, date, message_id);
      CREATE INDEX messages_chat_reply ON messages(chat_id, reply_to, date, message_id) WHERE reply_to IS NOT NULL;
    `);
  },
];

/** The database layout version (PRAGMA user_version) the code expects: one per migration. */
export const DATABASE_SCHEMA_VERSION = MIGRATIONS.length;

/** Brings `db` to `migrations.length`; refuses a database newer than the code. */
export function migrate(db: DB, migrations: ReadonlyArray<(db: DB) => void> = MIGRATIONS): number {
  const current = prepareRetained(db, "PRAGMA user_version").pluck(true).get() as number;
  const target = migrations.length;
  if (current > target) {
    throw new TglensError("TGLENS_CONFIG", `storage database schema version ${current} is newer than this code supports (${target})`);
  }
  for (let v = current; v < target; v++) {
    db.transaction(() => {
      migrations[v]!(db);
      db.exec(`PRAGMA user_version = ${v + 1}`);
    })();
  }
  return target;
}

/** A row as the upsert compares it: a stored message without its chat's name, type and username. */
export interface MessageRow extends Omit<StoredMessage, "chat_name" | "chat_type" | "chat_username"> {
  seq: number;
  sender_key: string | null;
  vec: Buffer;
}

export interface ChatRow {
  chat_id: string;
  name: string;
  type: string;
  username: string | null;
  gen: number;
}

/**
 * Which of a chat's rows a search may return: a typed object, turned into SQL here and nowhere else.
 * The chat is not part of it: the per-chat methods take it as an argument, keyword() from SearchFilters.
 */
export type RowFilter = Pick<SearchFilters, "sender" | "from" | "to">;

/** True when the filter excludes some rows (an empty sender name filters nothing). */
export function narrowsRows(f: RowFilter): boolean {
  return (f.sender !== undefined && f.sender !== "") || f.from !== undefined || f.to !== undefined;
}

/** A where-clause over `m` (messages) for a RowFilter. */
interface FilterSql {
  sql: string;
  params: Record<string, string | number>;
  bySender: boolean;
}

function filterSql(f: RowFilter): FilterSql {
  const parts: string[] = [];
  const params: Record<string, string | number> = {};
  const bySender = f.sender !== undefined && f.sender !== "";
  if (bySender) {
    parts.push("(m.sender_id = @f_sender OR m.sender_key = @f_sender_key)");
    params.f_sender = f.sender!;
    params.f_sender_key = f.sender!.normalize("NFC").toLowerCase();
  }
  if (f.from !== undefined) {
    parts.push("m.date >= @f_from");
    params.f_from = f.from;
  }
  if (f.to !== undefined) {
    parts.push("m.date <= @f_to");
    params.f_to = f.to;
  }
  return { sql: parts.length ? ` AND ${parts.join(" AND ")}` : "", params, bySender };
}

const HIT_COLUMNS = `m.chat_id, c.name AS chat_name, c.type AS chat_type, c.username AS chat_username, m.message_id, m.date, m.sender_id,
  m.sender, m.text, m.clean_text, m.lang, m.reply_to, m.forwarded_from, m.edited, m.media`;

export interface StoreOptions {
  /**
   * Overwrite deleted rows and freed pages with zeros (see deleteChat). Default true; false only
   * for bench/forget-bench.ts, which measures what it costs.
   */
  secureDelete?: boolean;
}

/**
 * Prepared statements over one database connection; everything synchronous. No SQL and no handle
 * on the connection leave this class: callers pass typed filters and run writes in transaction().
 */
export class MessageStore {
  readonly #db: DB;
  readonly #stmts: ReturnType<typeof prepare>;
  readonly #dynamic = new Map<string, Database.Statement>();

  constructor(path: string, opts: StoreOptions = {}) {
    this.#db = openDatabase(path);
    try {
      // exec, not db.pragma(): see the header.
      this.#db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;
        PRAGMA busy_timeout = 5000; PRAGMA cache_size = -32768; PRAGMA secure_delete = ${opts.secureDelete === false ? "OFF" : "ON"};`);
      migrate(this.#db);
      this.#stmts = prepare(this.#db);
    } catch (err) {
      this.#db.close();
      throw err;
    }
  }

  close(): void {
    this.#db.close();
  }

  /**
   * Runs `fn` in one write transaction (BEGIN IMMEDIATE: the write lock is taken up front, so the
   * transaction never fails half-way for want of it). All or nothing: a throw rolls everything back.
   */
  transaction<T>(fn: () => T): T {
    return this.#db.transaction(fn).immediate();
  }

  /** A cached statement for SQL built at run time from a fixed set of shapes. */
  #stmt(sql: string): Database.Statement {
    let s = this.#dynamic.get(sql);
    if (!s) {
      s = prepareRetained(this.#db, sql);
      this.#dynamic.set(sql, s);
    }
    return s;
  }

  nextSeq(): number {
    return (this.#stmts.getSeq.get() as { value: number }).value;
  }
  setNextSeq(v: number): void {
    this.#stmts.setSeq.run(v);
  }

  getChat(chatId: string): ChatRow | undefined {
    return this.#stmts.getChat.get(chatId) as ChatRow | undefined;
  }
  allChats(): ChatRow[] {
    return this.#stmts.allChats.all() as ChatRow[];
  }
  insertChat(row: ChatRow): void {
    this.#stmts.insertChat.run(row);
  }
  /** Sets the chat's name, type and username (its `gen` never changes). */
  updateChat(chat: ChatRow): void {
    this.#stmts.updateChat.run({ chat_id: chat.chat_id, name: chat.name, type: chat.type, username: chat.username });
  }

  getMessage(chatId: string, messageId: number): MessageRow | undefined {
    return this.#stmts.getMessage.get(chatId, messageId) as MessageRow | undefined;
  }
  insertMessage(row: MessageRow): void {
    this.#stmts.insertMessage.run(row);
  }
  updateMessage(row: MessageRow): void {
    this.#stmts.updateMessage.run(row);
  }

  countMessages(chatId: string): number {
    return (this.#stmts.countChat.get(chatId) as { n: number }).n;
  }
  countAll(): { chats: number; messages: number } {
    return this.#stmts.countAll.get() as { chats: number; messages: number };
  }

  /** Rows of one chat with seq > afterSeq, in seq order, `limit` at a time: [message_id, seq, vec]. */
  *vectorPages(chatId: string, afterSeq = 0, limit = 4096): Generator<Array<[number, number, Buffer]>> {
    let after = afterSeq;
    for (;;) {
      const page = this.#stmts.vectorsAfter.raw(true).all(chatId, after, limit) as Array<[number, number, Buffer]>;
      if (page.length === 0) return;
      yield page;
      if (page.length < limit) return;
      after = page[page.length - 1]![1];
    }
  }

  /** Highest seq of a chat's rows (0 when none). */
  maxSeq(chatId: string): number {
    return (this.#stmts.maxSeq.get(chatId) as { s: number | null }).s ?? 0;
  }

  /**
   * `FROM ... WHERE ...` selecting a chat's rows that match the filters, shaped so that SQLite uses
   * the most selective index without statistics: the sender indexes (by id and by name, unioned)
   * when a sender is given, else the (chat_id, date) index.
   */
  #matchingRows(f: FilterSql): string {
    if (!f.bySender) return `FROM messages m WHERE m.chat_id = @chat${f.sql}`;
    return `FROM messages m WHERE m.rowid IN (
        SELECT rowid FROM messages WHERE chat_id = @chat AND sender_id = @f_sender
        UNION SELECT rowid FROM messages WHERE chat_id = @chat AND sender_key = @f_sender_key)${f.sql}`;
  }

  /** Number of a chat's rows that match the filters, counting no further than `cap`. */
  countMatching(chatId: string, filter: RowFilter, cap: number): number {
    const f = filterSql(filter);
    const sql = `SELECT count(*) AS n FROM (SELECT 1 ${this.#matchingRows(f)} LIMIT @cap)`;
    return (this.#stmt(sql).get({ chat: chatId, cap, ...f.params }) as { n: number }).n;
  }

  /** message_id and vector of a chat's rows that match the filters. */
  vectorsMatching(chatId: string, filter: RowFilter): Array<[number, Buffer]> {
    const f = filterSql(filter);
    const sql = `SELECT m.message_id, m.vec ${this.#matchingRows(f)}`;
    return this.#stmt(sql)
      .raw(true)
      .all({ chat: chatId, ...f.params }) as Array<[number, Buffer]>;
  }

  /** Of `ids`, those whose rows match the filters (primary-key lookups, driven by the id list). */
  matchingIds(chatId: string, ids: readonly number[], filter: RowFilter): Set<number> {
    const f = filterSql(filter);
    const sql = `SELECT m.message_id FROM json_each(@ids) AS j CROSS JOIN messages AS m
      WHERE m.chat_id = @chat AND m.message_id = j.value${f.sql}`;
    const rows = this.#stmt(sql)
      .pluck(true)
      .all({ chat: chatId, ids: JSON.stringify(ids), ...f.params }) as number[];
    return new Set(rows);
  }

  /** Full rows (with vec) for `ids` of one chat. */
  hitsByIds(chatId: string, ids: readonly number[]): Array<StoredMessage & { vec: Buffer }> {
    const sql = `SELECT ${HIT_COLUMNS}, m.vec FROM json_each(@ids) AS j CROSS JOIN messages AS m
      JOIN chats c ON c.chat_id = m.chat_id WHERE m.chat_id = @chat AND m.message_id = j.value`;
    return this.#stmt(sql).all({ chat: chatId, ids: JSON.stringify(ids) }) as Array<StoredMessage & { vec: Buffer }>;
  }

  /**
   * FTS5 search; `match` must come from buildFtsQuery. Score = -bm25 (higher is better).
   *
   * First the best `limit × 8` matches are ranked inside FTS5 alone (`ORDER BY rank LIMIT`, much
   * faster than joining every match for common words), then joined and filtered: if at least
   * `limit` survive the filters they are the true top `limit` (every other match ranks lower).
   * Otherwise every match is joined and filtered, with the FTS table driving the join (CROSS JOIN:
   * without statistics SQLite would scan the date index and probe the FTS index once per row).
   */
  keyword(match: string, limit: number, filter: SearchFilters): Array<StoredMessage & { score: number }> {
    const chatId = filter.chat;
    const f = filterSql(filter);
    const chatSql = chatId === undefined ? "" : " AND m.chat_id = @chat";
    const params: Record<string, string | number> = { match, limit, ...f.params };
    if (chatId !== undefined) params.chat = chatId;
    const filtered = chatId !== undefined || narrowsRows(filter);
    const top = `SELECT ${HIT_COLUMNS}, t.score
      FROM (SELECT rowid, -rank AS score FROM messages_fts WHERE messages_fts MATCH @match ORDER BY rank LIMIT @inner) AS t
      CROSS JOIN messages m ON m.seq = t.rowid JOIN chats c ON c.chat_id = m.chat_id
      WHERE 1${chatSql}${f.sql}
      ORDER BY t.score DESC, m.date DESC, m.message_id DESC LIMIT @limit`;
    const first = this.#stmt(top).all({ ...params, inner: filtered ? limit * 8 : limit }) as Array<StoredMessage & { score: number }>;
    if (!filtered || first.length >= limit) return first;
    const all = `SELECT ${HIT_COLUMNS}, -bm25(messages_fts) AS score
      FROM messages_fts CROSS JOIN messages m ON m.seq = messages_fts.rowid JOIN chats c ON c.chat_id = m.chat_id
      WHERE messages_fts MATCH @match${chatSql}${f.sql}
      ORDER BY score DESC, m.date DESC, m.message_id DESC LIMIT @limit`;
    return this.#stmt(all).all(params) as Array<StoredMessage & { score: number }>;
  }

  /**
   * Runs `fn` in one read transaction, so that what it reads is one snapshot of the database
   * (writes of this connection aside: everything here is synchronous).
   */
  snapshot<T>(fn: () => T): T {
    return this.#db.transaction(fn).deferred();
  }

  /** One message of a chat, with its chat's name, type and username. */
  storedMessage(chatId: string, messageId: number): StoredMessage | undefined {
    return this.#stmts.storedMessage.get({ chat: chatId, id: messageId }) as StoredMessage | undefined;
  }

  /**
   * Up to `limit` messages of a chat next to `at` in chat order (date, then message id), `at`
   * itself excluded: the nearest ones, returned in chat order.
   */
  messagesBeside(chatId: string, at: Pick<StoredMessage, "date" | "message_id">, side: "before" | "after", limit: number): StoredMessage[] {
    const params = { chat: chatId, date: at.date, id: at.message_id, limit };
    if (side === "after") return this.#stmts.messagesAfter.all(params) as StoredMessage[];
    return (this.#stmts.messagesBefore.all(params) as StoredMessage[]).reverse();
  }

  /** The first `limit` messages of a chat at or after `from` (unix seconds), in chat order. */
  messagesFrom(chatId: string, from: number, limit: number): StoredMessage[] {
    return this.#stmts.messagesFrom.all({ chat: chatId, from, limit }) as StoredMessage[];
  }

  /** Whether the chat has a message dated before `date`. */
  hasMessagesBefore(chatId: string, date: number): boolean {
    return this.#stmts.hasBefore.get({ chat: chatId, date }) !== undefined;
  }

  /** The messages of `ids` (those stored) of one chat, in chat order. */
  messagesByIds(chatId: string, ids: readonly number[]): StoredMessage[] {
    if (ids.length === 0) return [];
    return this.#stmts.messagesByIds.all({ chat: chatId, ids: JSON.stringify(ids) }) as StoredMessage[];
  }

  /**
   * The first `limit` replies to a message, in chat order, leaving out those from `first` to `last`
   * in chat order (a page that holds them already).
   */
  repliesOutside(
    chatId: string,
    messageId: number,
    range: { first: Pick<StoredMessage, "date" | "message_id">; last: Pick<StoredMessage, "date" | "message_id"> },
    limit: number,
  ): StoredMessage[] {
    const { first, last } = range;
    const params = { chat: chatId, id: messageId, fd: first.date, fi: first.message_id, ld: last.date, li: last.message_id, limit };
    return this.#stmts.repliesOutside.all(params) as StoredMessage[];
  }

  summaries(chatId?: string): ChatSummary[] {
    const rows = (chatId === undefined ? this.#stmts.summaries.all() : this.#stmts.summary.all(chatId)) as ChatSummary[];
    return rows;
  }

  /**
   * A chat's summary, its `topSenders` most active senders and its messages per month, from one
   * snapshot. Each part is one pass over the chat's entries in a covering index.
   */
  chatStats(chatId: string, topSenders: number): ChatStats | undefined {
    return this.#db.transaction(() => {
      const summary = this.summaries(chatId)[0];
      if (!summary) return undefined;
      return {
        ...summary,
        top_senders: (this.#stmts.topSenders.all({ chat: chatId, limit: topSenders }) as Array<SenderCount & { last_date: number }>).map(
          ({ sender, sender_id, messages }) => ({ sender, sender_id, messages }),
        ),
        by_month: this.#stmts.byMonth.all({ chat: chatId }) as MonthCount[],
      };
    })();
  }

  /**
   * Deletes a chat and leaves none of its text in the files: rows and freed pages are zeroed
   * (secure_delete), FTS5 drops the chat's terms only when its segments are merged, so they are
   * merged into one ('optimize'), and the WAL, which still holds earlier images of those pages, is
   * checkpointed and truncated to nothing.
   */
  deleteChat(chatId: string): boolean {
    const { rows, chat } = this.transaction(() => {
      const rows = this.#stmts.deleteMessages.run(chatId).changes;
      const chat = this.#stmts.deleteChat.run(chatId).changes > 0;
      if (rows > 0) this.#stmts.ftsOptimize.run();
      return { rows, chat };
    });
    // Outside the transaction (a checkpoint cannot run inside one). It waits up to busy_timeout
    // for readers; in tglens only this connection uses the file.
    if (rows > 0 || chat) this.#stmts.checkpoint.get();
    return chat;
  }
}

/**
 * A chat's most active senders, grouped as ChatSummary.senders counts them: by sender id, or by
 * name where the id is null (messages with neither belong to no sender). The inner query walks
 * messages_chat_sender in index order, one group per (id, name) pair, without sorting the chat's
 * rows; the outer one merges a sender's names (a renamed sender) over those few groups. Each sender
 * is shown under the name of their latest message: with exactly one max() in the query, SQLite
 * takes the bare columns from the row holding the max (so last_date is selected, and dropped later).
 */
export const TOP_SENDERS_SQL = `
  SELECT sender, sender_id, sum(n) AS messages, max(last_date) AS last_date
  FROM (
    SELECT sender_id, sender_key, sender, count(*) AS n, max(date) AS last_date
    FROM messages WHERE chat_id = @chat AND (sender_id IS NOT NULL OR sender_key IS NOT NULL)
    GROUP BY sender_id, sender_key
  )
  GROUP BY coalesce(sender_id, '\u0001' || sender_key)
  ORDER BY messages DESC, sender IS NULL, sender, sender_id
  LIMIT @limit`;

/**
 * Messages per calendar month (UTC) from the chat's first month to its last, empty months
 * included. Each month is one range count on messages_chat_date: together one pass over the chat's
 * index entries. (Grouping by strftime('%Y-%m', date) reads the same entries but formats a date per
 * message and sorts them all, which is several times slower on a big chat.)
 */
export const BY_MONTH_SQL = `
  WITH RECURSIVE months(start) AS (
    SELECT unixepoch(min(date), 'unixepoch', 'start of month') FROM messages WHERE chat_id = @chat
    UNION ALL
    SELECT unixepoch(start, 'unixepoch', '+1 month') FROM months
    WHERE unixepoch(start, 'unixepoch', '+1 month') <= (SELECT max(date) FROM messages WHERE chat_id = @chat)
  )
  SELECT strftime('%Y-%m', start, 'unixepoch') AS month,
    (SELECT count(*) FROM messages
      WHERE chat_id = @chat AND date >= start AND date < unixepoch(start, 'unixepoch', '+1 month')) AS messages
  FROM months WHERE start IS NOT NULL ORDER BY start`;

const PAGE_ROWS = `SELECT ${HIT_COLUMNS} FROM messages m JOIN chats c ON c.chat_id = m.chat_id`;

/**
 * Pages of a chat in chat order (message-pages.ts). The neighbours of a message are a range of
 * messages_chat_date (chat_id, date, message_id) compared as row values, read in index order with
 * no sort; replies are a range of messages_chat_reply.
 */
export const PAGE_SQL = {
  message: `${PAGE_ROWS} WHERE m.chat_id = @chat AND m.message_id = @id`,
  before: `${PAGE_ROWS} WHERE m.chat_id = @chat AND (m.date, m.message_id) < (@date, @id) ORDER BY m.date DESC, m.message_id DESC LIMIT @limit`,
  after: `${PAGE_ROWS} WHERE m.chat_id = @chat AND (m.date, m.message_id) > (@date, @id) ORDER BY m.date, m.message_id LIMIT @limit`,
  from: `${PAGE_ROWS} WHERE m.chat_id = @chat AND m.date >= @from ORDER BY m.date, m.message_id LIMIT @limit`,
  hasBefore: "SELECT 1 FROM messages WHERE chat_id = @chat AND date < @date LIMIT 1",
  byIds: `SELECT ${HIT_COLUMNS} FROM json_each(@ids) AS j CROSS JOIN messages m JOIN chats c ON c.chat_id = m.chat_id
    WHERE m.chat_id = @chat AND m.message_id = j.value ORDER BY m.date, m.message_id`,
  repliesOutside: `${PAGE_ROWS} WHERE m.chat_id = @chat AND m.reply_to = @id
    AND ((m.date, m.message_id) < (@fd, @fi) OR (m.date, m.message_id) > (@ld, @li)) ORDER BY m.date, m.message_id LIMIT @limit`,
};

function prepare(rawDb: DB) {
  const db = { prepare: (sql: string) => prepareRetained(rawDb, sql) };
  const summarySql = (where: string) => `
    SELECT c.chat_id, c.name, c.type, c.username,
      (SELECT count(*) FROM messages m WHERE m.chat_id = c.chat_id) AS messages,
      (SELECT count(DISTINCT coalesce(m.sender_id, '\u0001' || m.sender_key)) FROM messages m
         WHERE m.chat_id = c.chat_id) AS senders,
      (SELECT min(m.date) FROM messages m WHERE m.chat_id = c.chat_id) AS first_date,
      (SELECT max(m.date) FROM messages m WHERE m.chat_id = c.chat_id) AS last_date
    FROM chats c ${where} ORDER BY c.name, c.chat_id`;
  return {
    getSeq: db.prepare("SELECT value FROM meta WHERE key = 'next_seq'"),
    setSeq: db.prepare("UPDATE meta SET value = ? WHERE key = 'next_seq'"),
    getChat: db.prepare("SELECT chat_id, name, type, username, gen FROM chats WHERE chat_id = ?"),
    allChats: db.prepare("SELECT chat_id, name, type, username, gen FROM chats ORDER BY chat_id"),
    insertChat: db.prepare("INSERT INTO chats(chat_id, name, type, username, gen) VALUES (@chat_id, @name, @type, @username, @gen)"),
    updateChat: db.prepare("UPDATE chats SET name = @name, type = @type, username = @username WHERE chat_id = @chat_id"),
    getMessage: db.prepare("SELECT * FROM messages WHERE chat_id = ? AND message_id = ?"),
    insertMessage: db.prepare(`INSERT INTO messages(chat_id, message_id, seq, date, sender_id, sender, sender_key, text,
        clean_text, lang, reply_to, forwarded_from, edited, media, vec)
      VALUES (@chat_id, @message_id, @seq, @date, @sender_id, @sender, @sender_key, @text, @clean_text, @lang,
        @reply_to, @forwarded_from, @edited, @media, @vec)`),
    updateMessage: db.prepare(`UPDATE messages SET seq = @seq, date = @date, sender_id = @sender_id, sender = @sender,
        sender_key = @sender_key, text = @text, clean_text = @clean_text, lang = @lang, reply_to = @reply_to,
        forwarded_from = @forwarded_from, edited = @edited, media = @media, vec = @vec
      WHERE chat_id = @chat_id AND message_id = @message_id`),
    countChat: db.prepare("SELECT count(*) AS n FROM messages WHERE chat_id = ?"),
    countAll: db.prepare("SELECT (SELECT count(*) FROM chats) AS chats, (SELECT count(*) FROM messages) AS messages"),
    vectorsAfter: db.prepare("SELECT message_id, seq, vec FROM messages WHERE chat_id = ? AND seq > ? ORDER BY seq LIMIT ?"),
    maxSeq: db.prepare("SELECT max(seq) AS s FROM messages WHERE chat_id = ?"),
    storedMessage: db.prepare(PAGE_SQL.message),
    messagesBefore: db.prepare(PAGE_SQL.before),
    messagesAfter: db.prepare(PAGE_SQL.after),
    messagesFrom: db.prepare(PAGE_SQL.from),
    hasBefore: db.prepare(PAGE_SQL.hasBefore),
    messagesByIds: db.prepare(PAGE_SQL.byIds),
    repliesOutside: db.prepare(PAGE_SQL.repliesOutside),
    summaries: db.prepare(summarySql("")),
    summary: db.prepare(summarySql("WHERE c.chat_id = ?")),
    topSenders: db.prepare(TOP_SENDERS_SQL),
    byMonth: db.prepare(BY_MONTH_SQL),
    deleteMessages: db.prepare("DELETE FROM messages WHERE chat_id = ?"),
    deleteChat: db.prepare("DELETE FROM chats WHERE chat_id = ?"),
    ftsOptimize: db.prepare("INSERT INTO messages_fts(messages_fts) VALUES ('optimize')"),
    checkpoint: db.prepare("PRAGMA wal_checkpoint(TRUNCATE)"),
  };
}
