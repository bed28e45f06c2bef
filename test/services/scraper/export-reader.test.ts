import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, open, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { Value } from "@sinclair/typebox/value";
import { RawMessage } from "../../../services/common/schemas.ts";
import { TglensError } from "../../../services/common/errors.ts";
import {
  DEFAULT_MAX_MESSAGE_BYTES,
  ExportParser,
  readExport,
  summariseExport,
  type ExportItem,
  type ExportSource,
  type ReadExportOptions,
} from "../../../services/scraper/export-reader.ts";

const REAL = "/work/shared/data/ubuntu-irc-train.json";

function msg(id: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    type: "message",
    date: "2023-01-02T03:04:05",
    date_unixtime: String(1672628645 + id),
    from: "Alice",
    from_id: "user100",
    text: `message ${id}`,
    text_entities: [{ type: "plain", text: `message ${id}` }],
    ...extra,
  };
}

const singleChat = {
  name: "Team",
  type: "private_supergroup",
  id: 1234567890,
  messages: [
    msg(1),
    msg(2, {
      text: ["read ", { type: "text_link", text: "this", href: "https://example.org/a" }, " ", { type: "mention", text: "@bob" }],
      text_entities: [],
    }),
    {
      id: 3,
      type: "service",
      date: "2023-01-02T03:04:05",
      date_unixtime: "1672628648",
      actor: "Bob",
      actor_id: "user101",
      action: "join_group_by_link",
      text: "",
      text_entities: [],
    },
    { id: 4, type: "unsupported", date: "2023-01-02T03:04:05", date_unixtime: "1672628649" },
    msg(5, { text: "", text_entities: [], photo: "(File not included. Change data exporting settings to download.)", width: 1280, height: 720 }),
    msg(6, { from_id: 100, from: null }),
    msg(7, { edited: "2023-01-03T00:00:00", edited_unixtime: "1672704000", reply_to_message_id: 1, forwarded_from: "Some channel" }),
    msg(8, { date_unixtime: undefined, date: "2023-01-02T03:04:05" }),
    msg(9, { text: 'unicode: ünïcödé 日本語 🎉 "quoted" back\\slash \u2028 \u001c' }),
  ],
};

const fullAccount = {
  about: "Here is the data you requested.",
  personal_information: { user_id: 100, first_name: "Alice", last_name: "", phone_number: "+1 555", username: "@alice", bio: "" },
  contacts: {
    about: "contacts",
    list: [{ user_id: 5, first_name: "Bob", last_name: "", phone_number: "+1 556", date: "2020-01-01T00:00:00", date_unixtime: "1577836800" }],
  },
  frequent_contacts: { about: "", list: [{ id: 5, category: "people", type: "user", name: "Bob", rating: 1.5e-3 }] },
  chats: {
    about: "This page lists all chats from this export.",
    list: [
      { name: "Bob", type: "personal_chat", id: 5, messages: [msg(10), msg(11, { from_id: "user5", from: "Bob" })] },
      { type: "saved_messages", id: 100, messages: [msg(12)] },
      { name: "Quiet", type: "private_group", id: 77, messages: [] },
    ],
  },
  left_chats: { about: "left", list: [{ name: "Old group", type: "private_group", id: 88, messages: [msg(13)] }] },
  other_data: { about: "misc", changes_log: [true, false, null, -1.25e10, 0, {}, []] },
};

async function collect(source: ExportSource, opts: Partial<ReadExportOptions> = {}): Promise<ExportItem[]> {
  const items: ExportItem[] = [];
  for await (const item of readExport(source, { jobId: "job-1", ...opts })) items.push(item);
  return items;
}

/** A byte stream of `data` cut into chunks of `size` bytes. */
function streamOf(data: string | Buffer, size = 64 * 1024): { stream: Readable } {
  const buf = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  const chunks: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) chunks.push(buf.subarray(i, i + size));
  return { stream: Readable.from(chunks, { objectMode: true }) };
}

async function rejectsCode(p: Promise<unknown>, code: string, message?: RegExp): Promise<TglensError> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof TglensError, `expected TglensError ${code}, got ${caught === undefined ? "no error" : String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (message) assert.match(caught.message, message);
  return caught;
}

function messages(items: ExportItem[]): RawMessage[] {
  return items.flatMap((i) => (i.kind === "message" ? [i.message] : []));
}

describe("readExport: single-chat export", () => {
  it("yields the chat, then its messages and skips, mapped to valid RawMessages", async () => {
    const items = await collect(streamOf(JSON.stringify(singleChat, null, 1)));
    const chat = { id: "1234567890", name: "Team", type: "private_supergroup" };
    assert.deepEqual(items[0], { kind: "chat", chat });
    assert.deepEqual(
      items.slice(1).map((i) => (i.kind === "message" ? i.message.message_id : i.kind === "skipped" ? `skip ${i.message_id} ${i.reason}` : i.kind)),
      [1, 2, "skip 3 service", "skip 4 unsupported", 5, 6, 7, 8, 9],
    );
    for (const item of items) if (item.kind === "skipped") assert.deepEqual(item.chat, chat);
    const ms = messages(items);
    for (const m of ms) assert.ok(Value.Check(RawMessage, m), JSON.stringify([...Value.Errors(RawMessage, m)]));
    const byId = new Map(ms.map((m) => [m.message_id, m]));
    assert.equal(byId.get(1)!.job_id, "job-1");
    assert.deepEqual(byId.get(1)!.chat, chat);
    assert.equal(byId.get(2)!.text, "read this (https://example.org/a) @bob");
    assert.equal(byId.get(5)!.text, "");
    assert.equal(byId.get(5)!.media, "photo");
    assert.deepEqual(byId.get(6)!.sender, { id: "user100", name: null });
    assert.equal(byId.get(7)!.edited, 1672704000);
    assert.equal(byId.get(7)!.reply_to, 1);
    assert.equal(byId.get(7)!.forwarded_from, "Some channel");
    assert.equal(byId.get(8)!.date, Date.UTC(2023, 0, 2, 3, 4, 5) / 1000);
    assert.equal(byId.get(9)!.text, singleChat.messages[8]!.text);
  });

  it("gives the same items whatever the chunking (1-byte, 7-byte, whole) and compact or indented JSON", async () => {
    const compact = JSON.stringify(singleChat);
    const expected = await collect(streamOf(compact, compact.length));
    for (const [text, size] of [
      [compact, 1],
      [compact, 7],
      [JSON.stringify(singleChat, null, 4), 3],
      [JSON.stringify(singleChat, null, "\t"), 1000],
    ] as const) {
      assert.deepEqual(await collect(streamOf(text, size)), expected, `chunk size ${size}`);
    }
  });

  it("reads a file path and reports progress with the file size", async () => {
    const path = join(dir, "single.json");
    const text = JSON.stringify(singleChat, null, 1);
    await writeFile(path, text);
    const progress: [number, number | undefined][] = [];
    const items = await collect({ path }, { onBytes: (n, total) => progress.push([n, total]) });
    assert.equal(messages(items).length, 7);
    assert.deepEqual(progress.at(-1), [Buffer.byteLength(text), Buffer.byteLength(text)]);
  });

  it("accepts a UTF-8 byte order mark and an empty messages array", async () => {
    const items = await collect(
      streamOf(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"name":"n","type":"personal_chat","id":1,"messages":[]}')]), 2),
    );
    assert.deepEqual(items, [{ kind: "chat", chat: { id: "1", name: "n", type: "personal_chat" } }]);
  });

  it("keeps a chat id beyond 2^53 exact", async () => {
    const items = await collect(streamOf('{"name":"big","type":"public_channel","id":12345678901234567891,"messages":[]}'));
    assert.deepEqual(items[0], { kind: "chat", chat: { id: "12345678901234567891", name: "big", type: "public_channel" } });
  });

  it("reads a chat whose name/type/id come after its messages (sorted keys), chat first", async () => {
    const sorted = `{"id":5,"messages":[${JSON.stringify(msg(1))},${JSON.stringify(msg(2))}],"name":"Late","type":"personal_chat"}`;
    const items = await collect(streamOf(sorted, 5));
    assert.deepEqual(items[0], { kind: "chat", chat: { id: "5", name: "Late", type: "personal_chat" } });
    assert.deepEqual(
      messages(items).map((m) => [m.message_id, m.chat.name]),
      [
        [1, "Late"],
        [2, "Late"],
      ],
    );
    // ...but only so much of them is held.
    const parser = new ExportParser("j", DEFAULT_MAX_MESSAGE_BYTES, 100);
    assert.throws(
      () => parser.write(Buffer.from(sorted)),
      (err: unknown) => err instanceof TglensError && err.code === "TGLENS_NOT_AN_EXPORT" && /before its "id"/.test(err.message),
    );
  });
});

describe("readExport: full-account export", () => {
  it("reads chats.list and left_chats.list, each chat before its messages, skipping other sections", async () => {
    const items = await collect(streamOf(JSON.stringify(fullAccount, null, 1), 13));
    assert.deepEqual(
      items.map((i) =>
        i.kind === "chat"
          ? `chat ${i.chat.id} ${i.chat.type} ${i.chat.name}`
          : i.kind === "message"
            ? `${i.message.chat.id}:${i.message.message_id}`
            : i.kind,
      ),
      [
        "chat 5 personal_chat Bob",
        "5:10",
        "5:11",
        "chat 100 saved_messages Saved Messages",
        "100:12",
        "chat 77 private_group Quiet",
        "chat 88 private_group Old group",
        "88:13",
      ],
    );
    assert.deepEqual(messages(items)[1]!.sender, { id: "user5", name: "Bob" });
  });

  it("summariseExport counts chats, messages, skips and bytes", async () => {
    const text = JSON.stringify(fullAccount);
    const s = await summariseExport(streamOf(text), { jobId: "j" });
    assert.deepEqual(s, {
      chats: [
        { id: "5", name: "Bob", type: "personal_chat" },
        { id: "100", name: "Saved Messages", type: "saved_messages" },
        { id: "77", name: "Quiet", type: "private_group" },
        { id: "88", name: "Old group", type: "private_group" },
      ],
      messages: 4,
      skipped: 0,
      replaced: 0,
      bytes: Buffer.byteLength(text),
    });
    const single = await summariseExport(streamOf(JSON.stringify(singleChat)), { jobId: "j" });
    assert.equal(single.messages, 7);
    assert.equal(single.skipped, 2);
  });
});

describe("readExport: bad input", () => {
  it("valid JSON that is not an export → TGLENS_NOT_AN_EXPORT", async () => {
    for (const text of [
      "[]",
      "[1,2,3]",
      "42",
      '"a string"',
      "null",
      "true",
      '{"foo":1}',
      "{}",
      '{"messages":5}',
      '{"messages":{"a":1}}',
      '{"chats":{"about":"no list"}}',
      '{"chats":[]}',
      '{"chats":{"list":[1]}}',
      '{"chats":{"list":[{"name":"no id","type":"personal_chat","messages":[]}]}}',
      '{"name":"no id","type":"personal_chat","messages":[]}',
    ]) {
      await rejectsCode(collect(streamOf(text)), "TGLENS_NOT_AN_EXPORT");
    }
  });

  it("malformed JSON → TGLENS_BAD_JSON with the byte offset", async () => {
    const cases: [string, number | undefined][] = [
      ["", 0],
      ["   \n ", undefined],
      ['{"name":"x",}', 12],
      ["{'name':1}", 1],
      ['{"a":tru}', 8],
      ['{"a":01}', 6],
      ['{"a":1.}', 7],
      ['{"a":-}', 6],
      ['{"a":"\\x"}', 7],
      ['{"a":"\\u12G4"}', 10],
      ['{"a":"tab\there"}', 9],
      ['{"a" 1}', 5],
      ['{"a":1]', 6],
      ['{"a":[1}', 7],
      ['{"id":1,"messages":[]} x', 23],
      ['{"id":1,"messages":[]}{}', 22],
      ['{"id":1,"type":"t","messages":[{"id":1,}]}', 31],
      ['{"id":1,"type":"t","messages":[{"id":1 "type":"message"}]}', 31],
      ['{"id":1,"type":"t","messages":[{"id":1, "text":"a\nb"}]}', 31],
      ['{"id":1,"type":"t","messages":[{"id":1},,{"id":2}]}', 40],
      ['{"id":1,"type":"t","messages":[{"id":1} {"id":2}]}', 40],
    ];
    for (const [text, offset] of cases) {
      const err = await rejectsCode(collect(streamOf(text)), "TGLENS_BAD_JSON");
      if (offset !== undefined) assert.equal(err.details?.offset, offset, `${JSON.stringify(text)}: ${err.message}`);
    }
  });

  it("every truncation of an export → TGLENS_BAD_JSON", async () => {
    const doc = JSON.stringify({ ...singleChat, messages: singleChat.messages.slice(0, 3) });
    for (let k = 1; k < doc.length; k++) {
      await rejectsCode(collect(streamOf(doc.slice(0, k), 16)), "TGLENS_BAD_JSON", /ends early|invalid JSON/);
    }
  });

  it("a bad message → TGLENS_BAD_MESSAGE naming where it is", async () => {
    const wrap = (m: unknown): string => JSON.stringify({ name: "c", type: "personal_chat", id: 1, messages: [msg(1), m] });
    await rejectsCode(
      collect(streamOf(wrap({ type: "message", date_unixtime: "1", text: "no id" }))),
      "TGLENS_BAD_MESSAGE",
      /messages\[1\] \(byte \d+\).*"id"/,
    );
    await rejectsCode(collect(streamOf(wrap(msg(2, { date_unixtime: "x" })))), "TGLENS_BAD_MESSAGE", /messages\[1\].*id 2.*"date_unixtime"/);
    await rejectsCode(collect(streamOf(wrap(msg(2, { date_unixtime: undefined, date: "not a date" })))), "TGLENS_BAD_MESSAGE", /"date"/);
    await rejectsCode(collect(streamOf(wrap(7))), "TGLENS_BAD_MESSAGE", /messages\[1\].*not a message object/);
    await rejectsCode(collect(streamOf(wrap(msg(2, { text: "t".repeat(100 * 1024) })))), "TGLENS_BAD_MESSAGE", /"text"/);
    const inList = JSON.stringify({ chats: { list: [{ name: "a", type: "personal_chat", id: 1, messages: [msg(1, { id: "one" })] }] } });
    await rejectsCode(collect(streamOf(inList)), "TGLENS_BAD_MESSAGE", /chats\.list\[0\]\.messages\[0\]/);
  });

  it("a 5 MB message → TGLENS_BAD_MESSAGE, read no further than the limit", async () => {
    const head = '{"name":"c","type":"personal_chat","id":1,"messages":[{"id":1,"type":"message","date_unixtime":"1","text":"';
    const chunk = Buffer.alloc(64 * 1024, "a");
    let fed = 0;
    const total = 5 * 1024 * 1024;
    async function* gen(): AsyncGenerator<Buffer> {
      yield Buffer.from(head);
      for (fed = 0; fed < total; fed += chunk.length) yield chunk;
      yield Buffer.from('"}]}');
    }
    let read = 0;
    const err = await rejectsCode(
      collect({ stream: Readable.from(gen(), { objectMode: true }) }, { onBytes: (n) => (read = n) }),
      "TGLENS_BAD_MESSAGE",
      /over 1048576 bytes/,
    );
    assert.ok(read <= DEFAULT_MAX_MESSAGE_BYTES + 2 * chunk.length + head.length, `read ${read} bytes before failing`);
    assert.equal(err.details?.offset, head.indexOf('{"id"'));
    // A smaller limit can be set; the same message within the limit but over MAX_TEXT_BYTES is still rejected.
    const small = JSON.stringify({ name: "c", type: "personal_chat", id: 1, messages: [msg(1, { text: "x".repeat(5000) })] });
    await rejectsCode(collect(streamOf(small), { maxMessageBytes: 4096 }), "TGLENS_BAD_MESSAGE", /over 4096 bytes/);
  });

  it("invalid UTF-8 → TGLENS_BAD_UTF8 at the bad byte, never replaced", async () => {
    const pre = Buffer.from('{"name":"c","type":"personal_chat","id":1,"messages":[{"id":1,"type":"message","date_unixtime":"1","text":"ab');
    const post = Buffer.from('cd"}]}');
    const bad: [string, number[]][] = [
      ["lone continuation byte", [0x80]],
      ["lead byte without continuation", [0xc3, 0x28]],
      ["overlong encoding of '/'", [0xc0, 0xaf]],
      ["UTF-16 surrogate encoded in UTF-8", [0xed, 0xa0, 0x80]],
      ["0xFF", [0xff]],
      ["code point above U+10FFFF", [0xf4, 0x90, 0x80, 0x80]],
    ];
    for (const [label, bytes] of bad) {
      const data = Buffer.concat([pre, Buffer.from(bytes), post]);
      for (const size of [1, 2, 5, 4096]) {
        const err = await rejectsCode(collect(streamOf(data, size)), "TGLENS_BAD_UTF8");
        assert.equal(err.details?.offset, pre.length, `${label}, chunk ${size}: ${err.message}`);
      }
    }
    // Outside a string, and in a key of the header.
    await rejectsCode(collect(streamOf(Buffer.concat([Buffer.from('{"messages":[] '), Buffer.from([0xfe]), Buffer.from("}")]))), "TGLENS_BAD_UTF8");
    await rejectsCode(
      collect(streamOf(Buffer.concat([Buffer.from('{"na'), Buffer.from([0xe2, 0x28, 0xa1]), Buffer.from('me":1,"messages":[]}')]))),
      "TGLENS_BAD_UTF8",
    );
    // Valid multi-byte characters split across chunks are fine.
    const ok = Buffer.concat([pre, Buffer.from("é日🎉"), post]);
    const items = await collect(streamOf(ok, 1));
    assert.equal(messages(items)[0]!.text, "abé日🎉cd");
    // A file cut inside a multi-byte character is a truncated file.
    await rejectsCode(collect(streamOf(Buffer.concat([pre, Buffer.from([0xe6, 0x97])]), 3)), "TGLENS_BAD_JSON", /UTF-8 character/);
    await rejectsCode(collect(streamOf(Buffer.concat([pre, Buffer.from([0xf8])]), 3)), "TGLENS_BAD_UTF8");
  });

  it("a stream decoded to strings is refused (its bad bytes may already be replaced)", async () => {
    const stream = Readable.from([JSON.stringify(singleChat)], { objectMode: true });
    await rejectsCode(collect({ stream }), "TGLENS_INTERNAL", /byte stream/);
  });

  it("a missing file → TGLENS_NOT_FOUND", async () => {
    await rejectsCode(collect({ path: join(dir, "nope.json") }), "TGLENS_NOT_FOUND");
    await rejectsCode(collect({ path: dir }), "TGLENS_NOT_FOUND");
  });

  it("stops when aborted", async () => {
    const path = join(dir, "abort.json");
    await writeFile(path, JSON.stringify({ ...singleChat, messages: Array.from({ length: 20000 }, (_, i) => msg(i + 1)) }));
    const ac = new AbortController();
    let n = 0;
    await assert.rejects(
      (async () => {
        for await (const item of readExport({ path }, { jobId: "j", signal: ac.signal })) {
          if (item.kind === "message" && ++n === 10) ac.abort();
        }
      })(),
      { name: "AbortError" },
    );
    assert.ok(n >= 10 && n < 20000);
    await assert.rejects(collect({ path }, { signal: AbortSignal.abort() }), { name: "AbortError" });
  });

  it("agrees with JSON.parse on thousands of mutated exports (fuzz)", async () => {
    const doc = JSON.stringify({
      ...fullAccount,
      chats: { list: [fullAccount.chats.list[0], { ...singleChat, messages: singleChat.messages.slice(0, 4) }] },
    });
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const alphabet = '{}[],:"\\ 0123456789.-+eEtrufalsn\tx';
    let invalid = 0;
    for (let iter = 0; iter < 2000; iter++) {
      let s = doc;
      for (let m = 1 + rand(2); m > 0; m--) {
        const at = rand(s.length);
        const op = rand(3);
        const ch = alphabet[rand(alphabet.length)]!;
        s = op === 0 ? s.slice(0, at) + s.slice(at + 1) : op === 1 ? s.slice(0, at) + ch + s.slice(at) : s.slice(0, at) + ch + s.slice(at + 1);
      }
      let validJson = true;
      try {
        JSON.parse(s);
      } catch {
        validJson = false;
      }
      let code: string | undefined;
      try {
        await collect(streamOf(s, 1 + rand(200)));
      } catch (err) {
        assert.ok(err instanceof TglensError, `${String(err)} for ${s}`);
        code = err.code;
      }
      if (!validJson) {
        invalid++;
        assert.ok(code !== undefined, `invalid JSON accepted: ${s}`);
      } else {
        assert.ok(code !== "TGLENS_BAD_JSON" && code !== "TGLENS_BAD_UTF8", `valid JSON rejected as ${code}: ${s}`);
      }
    }
    assert.ok(invalid > 500 && invalid < 1950, `${invalid} of 2000 mutated documents were invalid JSON`);
  });
});

describe("readExport: edge cases of the streaming parser", () => {
  it("keeps integers beyond 2^53 exact in a list chat's id, and refuses one as a message id", async () => {
    const list = JSON.stringify({ chats: { list: [{ name: "a", type: "public_channel", id: 0, messages: [msg(1)] }] } }).replace(
      '"id":0',
      '"id":-10012345678901234567',
    );
    const items = await collect(streamOf(list, 5));
    assert.deepEqual(items[0], { kind: "chat", chat: { id: "-10012345678901234567", name: "a", type: "public_channel" } });
    // Longer than any id the API can name (20 digits), so it could never be shown or forgotten: refused.
    await rejectsCode(collect(streamOf(list.replace("-10012345678901234567", "-1001234567890123456789"))), "TGLENS_NOT_AN_EXPORT", /integer/);
    const bigMsg = JSON.stringify({ name: "c", type: "personal_chat", id: 1, messages: [msg(0)] }).replace('"id":0', '"id":12345678901234567891');
    await rejectsCode(collect(streamOf(bigMsg)), "TGLENS_BAD_MESSAGE", /messages\[0\].*"id"/);
  });

  it("gives file offsets after a byte order mark, and a message's own offset for JSON errors inside it", async () => {
    const err = await rejectsCode(
      collect(streamOf(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":tru}')]), 4)),
      "TGLENS_BAD_JSON",
    );
    assert.equal(err.details?.offset, 11);
    const text = `{"id":1,"type":"t","messages":[${JSON.stringify(msg(1))},{"id":2,"text":"a" "b"}]}`;
    const start = text.indexOf('{"id":2');
    const inMsg = await rejectsCode(
      collect(streamOf(text, 9)),
      "TGLENS_BAD_JSON",
      new RegExp(`at byte ${text.indexOf('"b"')}.*messages\\[1\\], byte ${start}`),
    );
    assert.equal(inMsg.details?.offset, start);
  });

  it("yields a list chat without a messages array; a chat without an id is not an export", async () => {
    const items = await collect(streamOf(JSON.stringify({ chats: { list: [{ name: "x", type: "personal_chat", id: 9 }] } })));
    assert.deepEqual(items, [{ kind: "chat", chat: { id: "9", name: "x", type: "personal_chat" } }]);
    await rejectsCode(collect(streamOf('{"chats":{"list":[{}]}}')), "TGLENS_NOT_AN_EXPORT", /chats\.list\[0\]/);
    await rejectsCode(collect(streamOf('{"chats":{"list":{"a":{"name":"x","id":1,"messages":[]}}}}')), "TGLENS_NOT_AN_EXPORT");
    const named = await collect(streamOf('{"name":{"first":"x"},"type":"t","id":5,"messages":[]}'));
    assert.deepEqual(named, [{ kind: "chat", chat: { id: "5", name: "", type: "t" } }]);
  });

  it("bounds what it holds outside messages: one long string or header value, and nesting depth", async () => {
    const about = (n: number): string => `{"about":"${"a".repeat(n)}","name":"c","type":"t","id":1,"messages":[]}`;
    assert.equal((await collect(streamOf(about(500 * 1024)))).length, 1);
    await rejectsCode(collect(streamOf(about(3 * 1024 * 1024))), "TGLENS_NOT_AN_EXPORT", /single JSON value is over 1048576 bytes/);
    const bigName = `{"name":[${'"aaaaaaaaaa",'.repeat(200_000)}1],"type":"t","id":1,"messages":[]}`;
    await rejectsCode(collect(streamOf(bigName)), "TGLENS_NOT_AN_EXPORT", /header value is over/);
    await rejectsCode(collect(streamOf(`{"x":${"[".repeat(1200)}${"]".repeat(1200)}}`)), "TGLENS_BAD_JSON", /nesting deeper than 1000/);
    assert.equal((await collect(streamOf(`{"x":${"[".repeat(900)}${"]".repeat(900)},"id":1,"messages":[]}`))).length, 1);
  });
});

describe("readExport: the real IRC export", { skip: !existsSync(REAL) && `${REAL} not present` }, () => {
  it("yields the first 5,000 messages in order, then stops reading when the consumer stops", async () => {
    let n = 0;
    let chat: unknown;
    let lastBytes = 0;
    for await (const item of readExport({ path: REAL }, { jobId: "irc", onBytes: (b) => (lastBytes = b) })) {
      if (item.kind === "chat") chat = item.chat;
      else if (item.kind === "message") {
        n++;
        assert.equal(item.message.message_id, n);
        assert.ok(Value.Check(RawMessage, item.message));
        if (n === 5000) break;
      }
    }
    assert.equal(n, 5000);
    assert.deepEqual(chat, { id: "900001", name: "Ubuntu IRC (train)", type: "public_supergroup" });
    assert.ok(lastBytes < 10 * 1024 * 1024, `read ${lastBytes} bytes for 5,000 messages`);
  });

  it("a file of its first 2,000 messages reads as 2,000; cut anywhere it is TGLENS_BAD_JSON", async () => {
    const fh = await open(REAL);
    const head = Buffer.alloc(2 * 1024 * 1024);
    await fh.read(head, 0, head.length, 0);
    await fh.close();
    const text = head.toString("utf8");
    const marker = '\n   "id": 2001,';
    const cut = text.lastIndexOf("},", text.indexOf(marker)) + 1;
    const small = text.slice(0, cut) + "\n ]\n}\n";
    const s = await summariseExport(streamOf(small), { jobId: "irc" });
    assert.equal(s.messages, 2000);
    assert.equal(s.skipped, 0);
    await rejectsCode(summariseExport(streamOf(text.slice(0, cut)), { jobId: "irc" }), "TGLENS_BAD_JSON");
    await rejectsCode(summariseExport(streamOf(head.subarray(0, 100_001)), { jobId: "irc" }), "TGLENS_BAD_JSON");
  });

  it("the whole file: 196,123 messages", async () => {
    const s = await summariseExport({ path: REAL }, { jobId: "irc" });
    assert.equal(s.messages, 196_123);
    assert.equal(s.skipped, 0);
    assert.deepEqual(s.chats, [{ id: "900001", name: "Ubuntu IRC (train)", type: "public_supergroup" }]);
  });
});

let dir = "";
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "tglens-export-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("summariseExport: message ids that repeat", () => {
  it("counts a repeated id once and its earlier versions as replaced, per chat, negative ids included", async () => {
    const chat = (id: number, ids: number[]) => ({ name: `c${id}`, type: "private_supergroup", id, messages: ids.map((m) => msg(m)) });
    const text = JSON.stringify({ chats: { list: [chat(1, [-5, -4, -5, 3, 3, 3]), chat(2, [3, -5])] } });
    const s = await summariseExport(streamOf(text, 7), { jobId: "j" });
    assert.equal(s.messages, 5);
    assert.equal(s.replaced, 3);
  });
});
