/**
 * How the producer splits a publishMany into produce requests the broker accepts (without a broker;
 * kafka-bus.kafka.test.ts and the contract suite send real ones).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { chunkRecords } from "../../../../services/common/kafka/producer.ts";

const record = (i: number, bytes: number) => ({ key: String(i), payload: "x".repeat(bytes) });

describe("kafka producer", () => {
  it("keeps order and every record, at most 500 per request", () => {
    const records = Array.from({ length: 1_201 }, (_, i) => record(i, 10));
    const chunks = chunkRecords(records);
    assert.deepEqual(
      chunks.map((c) => c.length),
      [500, 500, 201],
    );
    assert.deepEqual(chunks.flat(), records);
  });

  it("keeps a request under 768 KiB of payload, well below the broker's 1 MiB batch limit", () => {
    const chunks = chunkRecords(Array.from({ length: 300 }, (_, i) => record(i, 8 * 1024)));
    assert.ok(chunks.length > 3, `${chunks.length} requests`);
    for (const chunk of chunks) {
      const bytes = chunk.reduce((n, r) => n + r.payload.length + r.key.length + 64, 0);
      assert.ok(bytes <= 768 * 1024, `${bytes} bytes in one request`);
    }
    assert.equal(chunks.flat().length, 300);
  });

  it("sends a record larger than the limit alone, and nothing for no records", () => {
    const big = record(1, 900 * 1024);
    assert.deepEqual(chunkRecords([record(0, 10), big, record(2, 10)]), [[record(0, 10)], [big], [record(2, 10)]]);
    assert.deepEqual(chunkRecords([]), []);
  });
});
