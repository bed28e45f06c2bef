/**
 * Kafka records in and out, in one place for every reader and writer of the bus: the fetch request
 * for a set of partition positions, the decoding of what comes back (control batches skipped, the
 * next position past the last batch) and the produce message of a record. The subscription and the
 * dead-letter reader both decode with `decodeRecords`, so they cannot read a log differently.
 */
import { IS_CONTROL, type ConnectionPool, type Consumer } from "@platformatic/kafka";
import { FETCH_MAX_BYTES, PARTITION_MAX_BYTES } from "./options.ts";

export type FetchResponse = Awaited<ReturnType<Consumer["fetch"]>>;
export type FetchedPartition = FetchResponse["responses"][number]["partitions"][number];

/** A record as the bus reads it: its offset, and key and payload as UTF-8 text. */
export interface FetchedRecord {
  offset: bigint;
  key: string;
  payload: string;
}

/** A record as the bus writes it. */
export interface OutgoingRecord {
  topic: string;
  key: string;
  payload: string;
}

/** A partition to fetch and the offset to fetch it from. */
export type FetchPosition = readonly [partition: number, offset: bigint];

/** One fetch request for partitions of one topic that `node` leads. */
export function fetchFrom(
  consumer: Consumer,
  node: number,
  topicId: string,
  positions: readonly FetchPosition[],
  opts: { maxWaitTime: number; connectionPool?: ConnectionPool },
): Promise<FetchResponse> {
  return consumer.fetch({
    node,
    topics: [
      {
        topicId,
        partitions: positions.map(([partition, fetchOffset]) => ({
          partition,
          fetchOffset,
          partitionMaxBytes: PARTITION_MAX_BYTES,
          currentLeaderEpoch: -1,
          lastFetchedEpoch: -1,
        })),
      },
    ],
    maxWaitTime: opts.maxWaitTime,
    minBytes: 1,
    maxBytes: FETCH_MAX_BYTES,
    ...(opts.connectionPool ? { connectionPool: opts.connectionPool } : {}),
  });
}

/**
 * The records of one fetched partition from offset `from` on (a batch may start below it, and a
 * record below the end of an earlier batch is skipped), without control records (transaction
 * markers), and the offset to fetch next: past the last batch, or `from` when nothing came back.
 */
export function decodeRecords(part: Pick<FetchedPartition, "records">, from: bigint): { records: FetchedRecord[]; next: bigint } {
  const records: FetchedRecord[] = [];
  let next = from;
  for (const batch of part.records ?? []) {
    if ((batch.attributes & IS_CONTROL) === 0) {
      for (const record of batch.records) {
        const offset = batch.firstOffset + BigInt(record.offsetDelta);
        if (offset < next) continue;
        records.push({ offset, key: record.key?.toString("utf8") ?? "", payload: record.value?.toString("utf8") ?? "" });
      }
    }
    const end = batch.firstOffset + BigInt(batch.lastOffsetDelta) + 1n;
    if (end > next) next = end;
  }
  return { records, next };
}

/** The producer's message for a record: key and payload as UTF-8 bytes. */
export function toKafkaMessage(record: OutgoingRecord) {
  return { topic: record.topic, key: Buffer.from(record.key, "utf8"), value: Buffer.from(record.payload, "utf8") };
}
