/**
 * One mapping: the same messages, written once as a Telegram Desktop export writes them and once as
 * the GramJS objects Telegram's API gives, must become identical raw records.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Api, helpers, utils } from "telegram";
import type { ChatRef } from "../../../../services/common/schemas.ts";
import { chatRefFromExport, exportMessageToRaw, isSkip, type MappedMessage } from "../../../../services/scraper/export-mapping.ts";
import { chatRefFromEntity, exportText, gramjsMessageToRaw } from "../../../../services/scraper/telegram/gramjs-mapping.ts";
import { basicGroup, channel, peerOf, user } from "../../../helpers/fake-telegram.ts";

const big = (n: number) => helpers.returnBigInt(n);
const anna = user(5566778, "Anna", "Petrova");
const tom = user(7788990, "Tom", "Becker");
const gone = user(4455667, "", undefined, { deleted: true });
const me = user(1234, "Me", "Myself", { self: true });
const news = channel(777, "Berlin Kultur News", { broadcast: true, username: "berlinkultur" });
const crew = channel(1498765432, "Kreuzberg Crew 🍻", { megagroup: true });
const crewRef: ChatRef = { id: "1498765432", name: "Kreuzberg Crew 🍻", type: "private_supergroup" };
const DATE = 1704740709;

/** The users and chats of a response, keyed as GramJS keys them (marked ids). */
const entities = new Map<string, Api.TypeUser | Api.TypeChat>([anna, tom, gone, me, news, crew].map((e) => [utils.getPeerId(e), e]));

/** A GramJS message in the crew chat, with the response's users and chats attached as GramJS attaches them. */
function live(fields: Partial<ConstructorParameters<typeof Api.Message>[0]> & { id: number }): Api.Message {
  const m = new Api.Message({ peerId: peerOf(crew), date: DATE, message: "", ...fields });
  m._entities = entities;
  return m;
}

function exported(fields: Record<string, unknown>): Record<string, unknown> {
  return { type: "message", date: "2024-01-08T19:05:09", date_unixtime: String(DATE), text_entities: [], ...fields };
}

const fromAnna = { fromId: new Api.PeerUser({ userId: anna.id }) };
const exportFromAnna = { from: "Anna Petrova", from_id: "user5566778" };

/** [what it shows, the export's message, the API's message] */
const PAIRS: [string, Record<string, unknown>, Api.TypeMessage][] = [
  [
    "entities with a text link, a mention and bold",
    exported({
      id: 10,
      ...exportFromAnna,
      text: [
        "see ",
        { type: "text_link", text: "the docs", href: "https://example.org/docs" },
        ", ask ",
        { type: "mention", text: "@bob" },
        " ",
        { type: "bold", text: "now" },
      ],
    }),
    live({
      id: 10,
      ...fromAnna,
      message: "see the docs, ask @bob now",
      entities: [
        new Api.MessageEntityTextUrl({ offset: 4, length: 8, url: "https://example.org/docs" }),
        new Api.MessageEntityMention({ offset: 18, length: 4 }),
        new Api.MessageEntityBold({ offset: 23, length: 3 }),
      ],
    }),
  ],
  [
    "a reply",
    exported({ id: 11, ...exportFromAnna, reply_to_message_id: 10, text: "ouch" }),
    live({ id: 11, ...fromAnna, message: "ouch", replyTo: new Api.MessageReplyHeader({ replyToMsgId: 10 }) }),
  ],
  [
    "a forward from a channel",
    exported({ id: 12, from: "Tom Becker", from_id: "user7788990", forwarded_from: "Berlin Kultur News", text: "Museum Sunday" }),
    live({
      id: 12,
      fromId: new Api.PeerUser({ userId: tom.id }),
      message: "Museum Sunday",
      fwdFrom: new Api.MessageFwdHeader({ fromId: new Api.PeerChannel({ channelId: news.id }), date: DATE - 100 }),
    }),
  ],
  [
    "a forward from someone who hides their account",
    exported({ id: 13, ...exportFromAnna, forwarded_from: "Hidden Person", text: "psst" }),
    live({ id: 13, ...fromAnna, message: "psst", fwdFrom: new Api.MessageFwdHeader({ fromName: "Hidden Person", date: DATE - 100 }) }),
  ],
  [
    "an edit",
    exported({ id: 14, ...exportFromAnna, edited: "2024-01-08T19:10:00", edited_unixtime: String(DATE + 300), text: "fixed" }),
    live({ id: 14, ...fromAnna, message: "fixed", editDate: DATE + 300 }),
  ],
  [
    "a photo with a caption",
    exported({ id: 15, ...exportFromAnna, photo: "photos/photo_2@14-01-2024_18-05-00.jpg", width: 1280, height: 960, text: "the battlefield" }),
    live({ id: 15, ...fromAnna, message: "the battlefield", media: new Api.MessageMediaPhoto({ photo: new Api.PhotoEmpty({ id: big(1) }) }) }),
  ],
  [
    "a poll",
    exported({
      id: 16,
      ...exportFromAnna,
      poll: {
        question: "Where on Saturday?",
        closed: false,
        total_voters: 3,
        answers: [
          { text: "Bar", voters: 2, chosen: true },
          { text: "Park", voters: 1, chosen: false },
        ],
      },
      text: "",
    }),
    live({
      id: 16,
      ...fromAnna,
      media: new Api.MessageMediaPoll({
        poll: new Api.Poll({
          id: big(9),
          question: new Api.TextWithEntities({ text: "Where on Saturday?", entities: [] }),
          answers: [
            new Api.PollAnswer({ text: new Api.TextWithEntities({ text: "Bar", entities: [] }), option: Buffer.from("0") }),
            new Api.PollAnswer({ text: new Api.TextWithEntities({ text: "Park", entities: [] }), option: Buffer.from("1") }),
          ],
        }),
        results: new Api.PollResults({
          totalVoters: 3,
          results: [
            new Api.PollAnswerVoters({ option: Buffer.from("0"), voters: 2, chosen: true }),
            new Api.PollAnswerVoters({ option: Buffer.from("1"), voters: 1 }),
          ],
        }),
      }),
    }),
  ],
  [
    "a sticker",
    exported({ id: 17, ...exportFromAnna, file: "stickers/sticker.webp", media_type: "sticker", sticker_emoji: "😂", text: "" }),
    live({
      id: 17,
      ...fromAnna,
      media: documentWith(
        [
          new Api.DocumentAttributeSticker({ alt: "😂", stickerset: new Api.InputStickerSetEmpty() }),
          new Api.DocumentAttributeImageSize({ w: 512, h: 512 }),
        ],
        "image/webp",
      ),
    }),
  ],
  [
    "a voice message",
    exported({
      id: 18,
      ...exportFromAnna,
      file: "voice_messages/audio_1.ogg",
      media_type: "voice_message",
      mime_type: "audio/ogg",
      duration_seconds: 14,
      text: "",
    }),
    live({ id: 18, ...fromAnna, media: documentWith([new Api.DocumentAttributeAudio({ voice: true, duration: 14 })], "audio/ogg") }),
  ],
  [
    "a video with a caption",
    exported({
      id: 19,
      ...exportFromAnna,
      file: "video_files/IMG_4521.MP4",
      media_type: "video_file",
      mime_type: "video/mp4",
      text: "the speech 😂",
    }),
    live({
      id: 19,
      ...fromAnna,
      message: "the speech 😂",
      media: documentWith([new Api.DocumentAttributeVideo({ duration: 48, w: 1080, h: 1920 })], "video/mp4"),
    }),
  ],
  [
    "a deleted account",
    exported({ id: 20, from: null, from_id: "user4455667", text: "bye" }),
    live({ id: 20, fromId: new Api.PeerUser({ userId: gone.id }), message: "bye" }),
  ],
  [
    "a service message",
    {
      id: 21,
      type: "service",
      date: "2024-01-08T19:05:09",
      date_unixtime: String(DATE),
      actor: "Anna Petrova",
      actor_id: "user5566778",
      action: "pin_message",
      message_id: 10,
      text: "",
    },
    new Api.MessageService({ id: 21, peerId: peerOf(crew), date: DATE, ...fromAnna, action: new Api.MessageActionPinMessage() }),
  ],
];

function documentWith(attributes: Api.TypeDocumentAttribute[], mimeType: string): Api.MessageMediaDocument {
  return new Api.MessageMediaDocument({
    document: new Api.Document({
      id: big(3),
      accessHash: big(4),
      fileReference: Buffer.alloc(0),
      date: DATE,
      mimeType,
      size: big(1000),
      dcId: 2,
      attributes,
    }),
  });
}

describe("GramJS messages map through the export mapping", () => {
  for (const [what, fromExport, fromApi] of PAIRS) {
    it(`${what}: the export's record and the API's record are identical`, () => {
      const a = exportMessageToRaw(fromExport, crewRef, "job-1");
      const b = gramjsMessageToRaw(fromApi, crewRef, "job-1", { self: me });
      assert.deepEqual(b, a);
    });
  }

  it("keeps what matters in those records (so that both sides are not wrong the same way)", () => {
    const raw = (m: MappedMessage) => {
      assert.ok(!isSkip(m));
      return m;
    };
    const [links, reply, forward, hidden, edit, photo, poll, sticker, voice, video, deleted, service] = PAIRS.map(([, , m]) =>
      gramjsMessageToRaw(m, crewRef, "j", { self: me }),
    );
    assert.equal(raw(links!).text, "see the docs (https://example.org/docs), ask @bob now");
    assert.deepEqual(raw(links!).sender, { id: "user5566778", name: "Anna Petrova" });
    assert.equal(raw(reply!).reply_to, 10);
    assert.equal(raw(forward!).forwarded_from, "Berlin Kultur News");
    assert.equal(raw(hidden!).forwarded_from, "Hidden Person");
    assert.equal(raw(edit!).edited, DATE + 300);
    assert.deepEqual([raw(photo!).media, raw(photo!).text], ["photo", "the battlefield"]);
    assert.deepEqual([raw(poll!).media, raw(poll!).text], ["poll", "Where on Saturday?\n- Bar\n- Park"]);
    assert.deepEqual([raw(sticker!).media, raw(voice!).media, raw(video!).media], ["sticker", "voice_message", "video_file"]);
    assert.deepEqual(raw(deleted!).sender, { id: "user4455667", name: null });
    assert.deepEqual(service, { skip: "service", message_id: 21 });
  });

  it("attributes a channel post to the channel and our own private message to us", () => {
    const post = new Api.Message({ id: 5, peerId: peerOf(news), date: DATE, post: true, message: "news" });
    post._entities = entities;
    const newsRef = chatRefFromEntity(news);
    const p = gramjsMessageToRaw(post, newsRef, "j", { self: me });
    assert.ok(!isSkip(p));
    assert.deepEqual(p.sender, { id: "channel777", name: "Berlin Kultur News" });

    const dm = new Api.Message({ id: 6, peerId: peerOf(anna), date: DATE, out: true, message: "hi Anna" });
    const incoming = new Api.Message({ id: 7, peerId: peerOf(anna), date: DATE, message: "hi you" });
    for (const m of [dm, incoming]) m._entities = entities;
    const annaRef = chatRefFromEntity(anna);
    const out = gramjsMessageToRaw(dm, annaRef, "j", { self: me });
    const inc = gramjsMessageToRaw(incoming, annaRef, "j", { self: me });
    assert.ok(!isSkip(out) && !isSkip(inc));
    assert.deepEqual(out.sender, { id: "user1234", name: "Me Myself" });
    assert.deepEqual(inc.sender, { id: "user5566778", name: "Anna Petrova" });
  });

  it("keeps a text link whole when another entity nests inside it", () => {
    const text = "read the docs now";
    const parts = exportText(text, [
      new Api.MessageEntityBold({ offset: 9, length: 4 }),
      new Api.MessageEntityTextUrl({ offset: 5, length: 8, url: "https://x.y" }),
    ]);
    assert.deepEqual(parts, ["read ", { type: "text_link", text: "the docs", href: "https://x.y" }, " now"]);
    assert.equal(exportText("plain", undefined), "plain");
  });
});

describe("chats map to the export's chat objects", () => {
  it("gives bare ids and the export's chat types, with the username of public chats", () => {
    assert.deepEqual(chatRefFromEntity(crew), crewRef);
    assert.deepEqual(chatRefFromEntity(channel(42, "Open", { megagroup: true, username: "opengroup" })), {
      id: "42",
      name: "Open",
      type: "public_supergroup",
      username: "opengroup",
    });
    assert.deepEqual(chatRefFromEntity(news), { id: "777", name: "Berlin Kultur News", type: "public_channel", username: "berlinkultur" });
    assert.deepEqual(chatRefFromEntity(channel(43, "Closed", { broadcast: true })), { id: "43", name: "Closed", type: "private_channel" });
    assert.deepEqual(chatRefFromEntity(basicGroup(587654321, "Book Club 📚")), { id: "587654321", name: "Book Club 📚", type: "private_group" });
    assert.deepEqual(chatRefFromEntity(anna), { id: "5566778", name: "Anna Petrova", type: "personal_chat" });
    assert.deepEqual(chatRefFromEntity(user(99, "Helper", undefined, { bot: true, username: "helper_bot" })), {
      id: "99",
      name: "Helper",
      type: "bot_chat",
      username: "helper_bot",
    });
    assert.deepEqual(chatRefFromEntity(me), { id: "1234", name: "Saved Messages", type: "saved_messages" });
  });

  it("gives a supergroup read live the id its Telegram Desktop export has", () => {
    // The team-chat fixture (demo/result.json) is the export of this supergroup.
    const fromExport = chatRefFromExport({ name: "Kreuzberg Crew 🍻", type: "private_supergroup", id: 1498765432 });
    assert.deepEqual(chatRefFromEntity(crew), fromExport);
  });
});
