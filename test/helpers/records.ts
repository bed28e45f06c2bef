/**
 * Message records of each topic (preprocess-, embed-, store-topic) with the defaults tests share,
 * so a test names only the fields it is about. Tests, benchmarks and the fuzzer build records here
 * instead of spelling out every field.
 */
import { EMBEDDING_DIM, MESSAGE_SCHEMA_VERSION, type CleanMessage, type EmbeddedMessage, type RawMessage } from "../../services/common/schemas.ts";

/** The date of message 0 (2023-11-14T22:13:20Z); message `id` is `id` seconds later. */
export const T0 = 1_700_000_000;

/** The unit vector along axis `i`: with one message per axis, message i is the exact answer to query i. */
export function axis(i: number): number[] {
  return Array.from({ length: EMBEDDING_DIM }, (_, j) => (j === i ? 1 : 0));
}

/** A preprocess-topic record: message `messageId` of chat "Chat <chatId>" (a private group), sent by Ann, text "message <id>". */
export function rawRecord(chatId: string, messageId: number, overrides: Partial<RawMessage> = {}): RawMessage {
  return {
    v: MESSAGE_SCHEMA_VERSION,
    job_id: "job-1",
    chat: { id: chatId, name: `Chat ${chatId}`, type: "private_group" },
    message_id: messageId,
    date: T0 + messageId,
    sender: { id: "user1", name: "Ann" },
    reply_to: null,
    forwarded_from: null,
    edited: null,
    media: null,
    text: `message ${messageId}`,
    ...overrides,
  };
}

/** An embed-topic record: `rawRecord` cleaned to its own text, in English. */
export function cleanRecord(chatId: string, messageId: number, overrides: Partial<CleanMessage> = {}): CleanMessage {
  const raw = rawRecord(chatId, messageId, overrides);
  return { ...raw, clean_text: raw.text, lang: "en", ...overrides };
}

/** A store-topic record: `cleanRecord` with `vector` (by default the axis |messageId| mod 384). */
export function embeddedRecord(
  chatId: string,
  messageId: number,
  vector: number[] = axis(Math.abs(messageId) % EMBEDDING_DIM),
  overrides: Partial<EmbeddedMessage> = {},
): EmbeddedMessage {
  return { ...cleanRecord(chatId, messageId, overrides), vector, ...overrides };
}
