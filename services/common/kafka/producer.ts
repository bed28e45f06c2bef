/**
 * The bus's one producer: idempotent, acks=all and retried until the broker takes a record, so a
 * publish during a broker restart waits instead of failing. Keys go through Kafka's Java-compatible
 * murmur2 partitioner, so any Kafka client puts a chat on the same partition. Records are sent in
 * requests small enough for the broker's per-batch limit, and close() lets what is in flight land.
 */
import { ProduceAcks, Producer, compatibilityPartitioner } from "@platformatic/kafka";
import { busClosedError } from "../bus.ts";
import { connection, type KafkaSettings } from "./options.ts";
import { toKafkaMessage, type OutgoingRecord } from "./records.ts";
import { withTimeout } from "./timers.ts";

/** Records per produce request. */
const SEND_CHUNK = 500;
/**
 * Payload bytes per produce request. The broker refuses a record batch over its message.max.bytes
 * (1 MiB by default) as a whole, and 256 embedded messages are about 1.3 MB of JSON: unbounded, every
 * embedder batch was refused and then delivered one message at a time.
 */
const SEND_CHUNK_BYTES = 768 * 1024;

/** Splits records into produce requests of at most SEND_CHUNK records and SEND_CHUNK_BYTES of payload (a larger record goes alone). */
export function chunkRecords<R extends { key: string; payload: string }>(records: readonly R[]): R[][] {
  const chunks: R[][] = [];
  let chunk: R[] = [];
  let bytes = 0;
  for (const record of records) {
    const size = Buffer.byteLength(record.payload) + Buffer.byteLength(record.key) + 64;
    if (chunk.length > 0 && (chunk.length >= SEND_CHUNK || bytes + size > SEND_CHUNK_BYTES)) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(record);
    bytes += size;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

export class BusProducer {
  readonly #producer: Producer;
  readonly #settings: KafkaSettings;
  readonly #sending = new Set<Promise<unknown>>();
  #refusing = false;

  constructor(settings: KafkaSettings) {
    this.#settings = settings;
    this.#producer = new Producer({
      clientId: `${settings.clientId}-producer`,
      ...connection(settings),
      idempotent: true,
      acks: ProduceAcks.ALL,
      // Java's partitioner (murmur2, sign bit masked): every Kafka client agrees where a chat goes.
      partitioner: compatibilityPartitioner,
      retryDelay: 500,
    });
  }

  /** Resolves when the broker has every record; TGLENS_NOT_READY once the bus is closing. */
  async produce(records: readonly OutgoingRecord[]): Promise<void> {
    if (this.#refusing) throw busClosedError("Kafka");
    for (const chunk of chunkRecords(records)) {
      const sent = this.#producer.send({ messages: chunk.map(toKafkaMessage) });
      this.#sending.add(sent);
      try {
        await sent;
      } finally {
        this.#sending.delete(sent);
      }
    }
  }

  /** From now on produce() refuses new records; what was handed over still goes. */
  refuse(): void {
    this.#refusing = true;
  }

  /** Waits (10 s at most) for what was handed over to reach the broker. */
  async flush(): Promise<void> {
    await withTimeout(Promise.allSettled([...this.#sending]), 10_000, "flushing the producer").catch((err) =>
      this.#settings.log?.warn({ err }, "kafka producer did not flush before close"),
    );
  }

  /** Closes the client (5 s at most), without flushing. */
  close(): Promise<void> {
    this.#refusing = true;
    return withTimeout(this.#producer.close(), 5_000, "closing the producer");
  }
}
