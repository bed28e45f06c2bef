import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Value } from "@sinclair/typebox/value";
import { RawMessage, type ChatRef } from "../../../services/common/schemas.ts";
import { TglensError } from "../../../services/common/errors.ts";
import {
  MAX_TEXT_BYTES,
  chatRefFromExport,
  exportMessageToRaw,
  flattenText,
  isSkip,
  normaliseSenderId,
  parseExportDate,
  type MappedMessage,
} from "../../../services/scraper/export-mapping.ts";

const chat: ChatRef = { id: "42", name: "Test chat", type: "private_group" };

function base(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 7,
    type: "message",
    date: "2023-01-02T03:04:05",
    date_unixtime: "1672628645",
    from: "Alice",
    from_id: "user100",
    text: "hello",
    text_entities: [{ type: "plain", text: "hello" }],
    ...extra,
  };
}

function raw(m: MappedMessage): RawMessage {
  assert.ok(!isSkip(m), `expected a message, got skip ${JSON.stringify(m)}`);
  assert.ok(Value.Check(RawMessage, m), `not a RawMessage: ${JSON.stringify([...Value.Errors(RawMessage, m)])}`);
  return m;
}

function throwsCode(fn: () => unknown, code: string, messageIncludes?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof TglensError, `not a TglensError: ${String(err)}`);
    assert.equal(err.code, code);
    if (messageIncludes) assert.match(err.message, messageIncludes);
    return true;
  });
}

describe("exportMessageToRaw", () => {
  it("maps a plain text message to a valid RawMessage", () => {
    const m = raw(exportMessageToRaw(base(), chat, "job-1"));
    assert.deepEqual(m, {
      v: 1,
      job_id: "job-1",
      chat,
      message_id: 7,
      date: 1672628645,
      sender: { id: "user100", name: "Alice" },
      reply_to: null,
      forwarded_from: null,
      edited: null,
      media: null,
      text: "hello",
    });
  });

  it("flattens entity-array text, keeping a text_link's href and mention text", () => {
    const text = [
      "see ",
      { type: "text_link", text: "the docs", href: "https://example.org/docs" },
      ", ask ",
      { type: "mention", text: "@bob" },
      " or ",
      { type: "mention_name", text: "Carol", user_id: 555 },
      " ",
      { type: "link", text: "https://x.y/z" },
      " ",
      { type: "bold", text: "now" },
      { type: "hashtag", text: " #tag" },
      { type: "code", text: " a()" },
      { type: "text_link", text: "https://same.link", href: "https://same.link" },
    ];
    const m = raw(exportMessageToRaw(base({ text }), chat, "j"));
    assert.equal(m.text, "see the docs (https://example.org/docs), ask @bob or Carol https://x.y/z now #tag a()https://same.link");
  });

  it("reads a bare-number from_id (old exports) as a user id and keeps channel/chat ids", () => {
    assert.deepEqual(raw(exportMessageToRaw(base({ from_id: 12345 }), chat, "j")).sender, { id: "user12345", name: "Alice" });
    assert.equal(raw(exportMessageToRaw(base({ from_id: "channel77" }), chat, "j")).sender.id, "channel77");
    assert.equal(raw(exportMessageToRaw(base({ from_id: "chat88" }), chat, "j")).sender.id, "chat88");
  });

  it("keeps a null `from` (deleted account) as a null name", () => {
    const m = raw(exportMessageToRaw(base({ from: null, from_id: "user9" }), chat, "j"));
    assert.deepEqual(m.sender, { id: "user9", name: null });
    const noSender = raw(exportMessageToRaw(base({ from: undefined, from_id: undefined }), chat, "j"));
    assert.deepEqual(noSender.sender, { id: null, name: null });
  });

  it("skips service and unsupported messages, with their id", () => {
    assert.deepEqual(
      exportMessageToRaw({ id: 3, type: "service", date: "2023-01-01T00:00:00", actor: "Bob", action: "invite_members", text: "" }, chat, "j"),
      {
        skip: "service",
        message_id: 3,
      },
    );
    assert.deepEqual(exportMessageToRaw({ id: 4, type: "unsupported", date: "2023-01-01T00:00:00" }, chat, "j"), {
      skip: "unsupported",
      message_id: 4,
    });
  });

  it("reads edited, reply and forward fields", () => {
    const m = raw(
      exportMessageToRaw(
        base({ edited: "2023-01-02T04:00:00", edited_unixtime: "1672632000", reply_to_message_id: 5, forwarded_from: "News channel" }),
        chat,
        "j",
      ),
    );
    assert.equal(m.edited, 1672632000);
    assert.equal(m.reply_to, 5);
    assert.equal(m.forwarded_from, "News channel");
    // An old export: `edited` without `edited_unixtime`.
    assert.equal(raw(exportMessageToRaw(base({ edited: "2023-01-02T04:00:00" }), chat, "j")).edited, 1672632000);
  });

  it("uses `date` (read as UTC) when there is no date_unixtime", () => {
    const m = raw(exportMessageToRaw(base({ date_unixtime: undefined, date: "2023-01-02T03:04:05" }), chat, "j"));
    assert.equal(m.date, Date.UTC(2023, 0, 2, 3, 4, 5) / 1000);
    assert.equal(parseExportDate(undefined, "2023-01-02T03:04:05+02:00"), Date.UTC(2023, 0, 2, 1, 4, 5) / 1000);
    assert.equal(parseExportDate(1700000000, undefined), 1700000000);
  });

  it("names the media kind and keeps media-only messages with empty text", () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ photo: "(File not included. Change data exporting settings to download.)", width: 800, height: 600 }, "photo"],
      [{ file: "files/report.pdf", mime_type: "application/pdf" }, "document"],
      [{ media_type: "sticker", file: "(File not included. Change data exporting settings to download.)", sticker_emoji: "👍" }, "sticker"],
      [{ media_type: "video_file", file: "video.mp4" }, "video_file"],
      [{ media_type: "voice_message", file: "voice.ogg" }, "voice_message"],
      [{ media_type: "audio_file", file: "a.mp3" }, "audio_file"],
      [{ media_type: "animation", file: "a.mp4" }, "animation"],
      [{ media_type: "video_message", file: "v.mp4" }, "video_message"],
      [{ location_information: { latitude: 1.5, longitude: 2.5 } }, "location"],
      [{ contact_information: { first_name: "A", last_name: "B", phone_number: "+100" } }, "contact"],
    ];
    for (const [extra, kind] of cases) {
      const m = raw(exportMessageToRaw(base({ text: "", text_entities: [], ...extra }), chat, "j"));
      assert.equal(m.media, kind, JSON.stringify(extra));
      assert.equal(m.text, "");
    }
    // A caption stays the text.
    assert.equal(raw(exportMessageToRaw(base({ photo: "photos/p.jpg", text: "sunset" }), chat, "j")).text, "sunset");
  });

  it("uses a poll's question and options as its text", () => {
    const poll = {
      question: "Lunch?",
      closed: false,
      total_voters: 3,
      answers: [
        { text: "Pizza", voters: 2, chosen: false },
        { text: "Sushi", voters: 1, chosen: true },
      ],
    };
    const m = raw(exportMessageToRaw(base({ text: "", text_entities: [], poll }), chat, "j"));
    assert.equal(m.media, "poll");
    assert.equal(m.text, "Lunch?\n- Pizza\n- Sushi");
  });

  it("rejects a message without an integer id", () => {
    throwsCode(() => exportMessageToRaw(base({ id: undefined }), chat, "j", "messages[3]"), "TGLENS_BAD_MESSAGE", /messages\[3\].*"id"/);
    throwsCode(() => exportMessageToRaw(base({ id: "7" }), chat, "j"), "TGLENS_BAD_MESSAGE", /"id"/);
    throwsCode(() => exportMessageToRaw(base({ id: 1.5 }), chat, "j"), "TGLENS_BAD_MESSAGE", /"id"/);
    throwsCode(() => exportMessageToRaw("not an object", chat, "j"), "TGLENS_BAD_MESSAGE");
    throwsCode(() => exportMessageToRaw(null, chat, "j"), "TGLENS_BAD_MESSAGE");
  });

  it("rejects an unparseable date, naming the message and the field", () => {
    throwsCode(
      () => exportMessageToRaw(base({ date_unixtime: "soon" }), chat, "j", "messages[0]"),
      "TGLENS_BAD_MESSAGE",
      /messages\[0\] \(id 7\).*"date_unixtime"/,
    );
    throwsCode(() => exportMessageToRaw(base({ date_unixtime: undefined, date: "yesterday" }), chat, "j"), "TGLENS_BAD_MESSAGE", /"date"/);
    throwsCode(() => exportMessageToRaw(base({ date_unixtime: undefined, date: "2023-02-31T00:00:00" }), chat, "j"), "TGLENS_BAD_MESSAGE", /"date"/);
    throwsCode(() => exportMessageToRaw(base({ date_unixtime: undefined, date: undefined }), chat, "j"), "TGLENS_BAD_MESSAGE", /"date"/);
    throwsCode(() => exportMessageToRaw(base({ edited: "later", edited_unixtime: undefined }), chat, "j"), "TGLENS_BAD_MESSAGE", /"edited"/);
  });

  it("rejects text over MAX_TEXT_BYTES and text of an unknown shape", () => {
    assert.equal(raw(exportMessageToRaw(base({ text: "a".repeat(MAX_TEXT_BYTES) }), chat, "j")).text.length, MAX_TEXT_BYTES);
    throwsCode(() => exportMessageToRaw(base({ text: "a".repeat(MAX_TEXT_BYTES + 1) }), chat, "j"), "TGLENS_BAD_MESSAGE", /"text"/);
    // Counted in UTF-8 bytes: 30,000 three-byte characters are 90,000 bytes.
    throwsCode(() => exportMessageToRaw(base({ text: "€".repeat(30_000) }), chat, "j"), "TGLENS_BAD_MESSAGE", /"text"/);
    throwsCode(
      () => exportMessageToRaw(base({ text: [{ type: "plain", text: "x".repeat(5 * 1024 * 1024) }] }), chat, "j"),
      "TGLENS_BAD_MESSAGE",
      /"text"/,
    );
    throwsCode(() => exportMessageToRaw(base({ text: 12 }), chat, "j"), "TGLENS_BAD_MESSAGE", /"text"/);
  });
});

describe("field helpers", () => {
  it("flattenText handles strings, arrays and nothing", () => {
    assert.equal(flattenText("plain"), "plain");
    assert.equal(flattenText(null), "");
    assert.equal(flattenText(undefined), "");
    assert.equal(flattenText(["a", { type: "italic", text: "b" }, { type: "weird" }, 5]), "ab");
    assert.equal(flattenText({ text: "x" }), undefined);
  });

  it("normaliseSenderId", () => {
    assert.equal(normaliseSenderId("user1"), "user1");
    assert.equal(normaliseSenderId(1), "user1");
    assert.equal(normaliseSenderId("123"), "user123");
    assert.equal(normaliseSenderId(-1001234567890), "channel1234567890");
    assert.equal(normaliseSenderId(-4567), "chat4567");
    assert.equal(normaliseSenderId(null), null);
    assert.equal(normaliseSenderId(""), null);
    assert.equal(normaliseSenderId({}), null);
  });

  it("chatRefFromExport turns the id into a string and fills defaults", () => {
    assert.deepEqual(chatRefFromExport({ name: "G", type: "private_supergroup", id: 1234567890 }), {
      id: "1234567890",
      name: "G",
      type: "private_supergroup",
    });
    assert.deepEqual(chatRefFromExport({ type: "saved_messages", id: 5 }), { id: "5", name: "Saved Messages", type: "saved_messages" });
    assert.deepEqual(chatRefFromExport({ name: "x", id: "77" }), { id: "77", name: "x", type: "unknown" });
    // The literal JSON text keeps ids beyond 2^53 exact.
    assert.equal(chatRefFromExport({ id: 2 ** 60, type: "t" }, "1152921504606846977").id, "1152921504606846977");
    throwsCode(() => chatRefFromExport({ name: "no id", type: "personal_chat" }), "TGLENS_NOT_AN_EXPORT", /id/);
    throwsCode(() => chatRefFromExport([]), "TGLENS_NOT_AN_EXPORT");
  });
});
