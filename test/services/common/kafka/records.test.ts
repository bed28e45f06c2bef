/**
 * Decoding fetched records, on record batches encoded and parsed by @platformatic/kafka itself (its
 * wire format, no broker): offsets from the batch, control batches skipped but stepped over, records
 * below the requested offset dropped, and the next fetch position past the last batch.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { IS_CONTROL, Reader, createRecordsBatch, readRecordsBatch, type RecordsBatch } from "@platformatic/kafka";
import { decodeRecords, toKafkaMessage } from "../../../../services/common/kafka/records.ts";

/** A batch of `values` (key "k") that starts at `firstOffset`, as the broker would return it. */
function batch(firstOffset: bigint, values: (string | null)[], attributes = 0): RecordsBatch {
  const messages = values.map((v) => ({ topic: "t", partition: 0, key: Buffer.from("k"), value: v === null ? (null as never) : Buffer.from(v) }));
  const parsed = readRecordsBatch(Reader.from(createRecordsBatch(messages).buffer));
  return { ...parsed, firstOffset, attributes: parsed.attributes | attributes };
}

describe("kafka records", () => {
  it("decodes each record with its offset, key and payload as text, and points past the last batch", () => {
    const { records, next } = decodeRecords({ records: [batch(10n, ["a", "Привет 🎉"]), batch(12n, ["c"])] }, 10n);
    assert.deepEqual(records, [
      { offset: 10n, key: "k", payload: "a" },
      { offset: 11n, key: "k", payload: "Привет 🎉" },
      { offset: 12n, key: "k", payload: "c" },
    ]);
    assert.equal(next, 13n);
  });

  it("drops records below the requested offset: a batch may start before it", () => {
    const { records, next } = decodeRecords({ records: [batch(20n, ["a", "b", "c", "d"])] }, 22n);
    assert.deepEqual(
      records.map((r) => [r.offset, r.payload]),
      [
        [22n, "c"],
        [23n, "d"],
      ],
    );
    assert.equal(next, 24n);
  });

  it("skips control batches (transaction markers) but moves the position past them", () => {
    const { records, next } = decodeRecords({ records: [batch(5n, ["a"]), batch(6n, ["marker"], IS_CONTROL), batch(7n, ["b"])] }, 5n);
    assert.deepEqual(
      records.map((r) => r.payload),
      ["a", "b"],
    );
    assert.equal(next, 8n);
    const onlyControl = decodeRecords({ records: [batch(9n, ["marker"], IS_CONTROL)] }, 9n);
    assert.deepEqual(onlyControl, { records: [], next: 10n });
  });

  it("stays where it was when nothing came back", () => {
    assert.deepEqual(decodeRecords({ records: [] }, 42n), { records: [], next: 42n });
    assert.deepEqual(decodeRecords({ records: null }, 42n), { records: [], next: 42n });
    assert.deepEqual(decodeRecords({}, 0n), { records: [], next: 0n });
  });

  it("reads a record without a value as an empty payload (which then fails its schema, not the loop)", () => {
    const { records } = decodeRecords({ records: [batch(0n, [null])] }, 0n);
    assert.deepEqual(records, [{ offset: 0n, key: "k", payload: "" }]);
  });

  it("writes key and payload as UTF-8 bytes that decode to the same text", () => {
    const message = toKafkaMessage({ topic: "preprocess-topic", key: "-1001", payload: '{"text":"你好"}' });
    assert.equal(message.topic, "preprocess-topic");
    assert.equal(message.key.toString("utf8"), "-1001");
    assert.equal(message.value.toString("utf8"), '{"text":"你好"}');
    const [back] = decodeRecords({ records: [batch(3n, [message.value.toString("utf8")])] }, 3n).records;
    assert.equal(back!.payload, '{"text":"你好"}');
  });
});
