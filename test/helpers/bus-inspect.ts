/**
 * Reading back what a bus dead-lettered, for tests: `Bus` only writes dead letters. The memory bus's
 * are read through memory-bus.ts's explicit export; a Kafka bus's are read from its `<topic>.dlq`
 * topics by a consumer of the test's own (no group), decoded with the bus's own records.ts. Each
 * read returns every letter so far: it reads each partition up to the end offset it had when called.
 */
import { Consumer, ListOffsetTimestamps, findErrorBy } from "@platformatic/kafka";
import { deadLetterTopic } from "../../services/common/bus.ts";
import { connection, resolveSettings, type KafkaSettings } from "../../services/common/kafka/options.ts";
import { decodeRecords, fetchFrom, type FetchPosition } from "../../services/common/kafka/records.ts";
import { byLeader } from "../../services/common/kafka/topics.ts";
import { memoryDeadLetters, type MemoryBus } from "../../services/common/memory-bus.ts";
import type { DeadLetter, Topic } from "../../services/common/schemas.ts";

export interface DeadLetterInspector {
  /** Every dead letter of `topic` so far, in log order per partition. */
  deadLetters(topic: Topic): Promise<DeadLetter[]>;
  close(): Promise<void>;
}

export function inspectMemoryBus(bus: MemoryBus): DeadLetterInspector {
  return {
    deadLetters: async (topic) => memoryDeadLetters(bus, topic),
    close: async () => undefined,
  };
}

/** Where a Kafka bus's dead letters are: its brokers, and the topic prefix it was made with. */
export interface KafkaInspectOptions {
  brokers: string[];
  topicPrefix?: string;
  clientId?: string;
}

export function inspectKafka(opts: KafkaInspectOptions): DeadLetterInspector {
  return new KafkaDeadLetterReader(resolveSettings({ clientId: "tglens-test-inspect", ...opts }));
}

interface ReadState {
  /** Where to continue reading, per partition. */
  positions: Map<number, bigint>;
  letters: DeadLetter[];
  /** The read in progress: one at a time per topic, so positions advance in order. */
  reading: Promise<void>;
}

class KafkaDeadLetterReader implements DeadLetterInspector {
  readonly #settings: KafkaSettings;
  readonly #consumer: Consumer;
  readonly #topics = new Map<string, ReadState>();

  constructor(settings: KafkaSettings) {
    this.#settings = settings;
    // A group id is required, but the reader never joins: it fetches by offset.
    const id = `${settings.clientId}-dlq`;
    this.#consumer = new Consumer({ clientId: id, groupId: id, ...connection(settings), autocommit: false });
  }

  async deadLetters(topic: Topic): Promise<DeadLetter[]> {
    const name = this.#settings.wire(deadLetterTopic(topic));
    let state = this.#topics.get(name);
    if (!state) {
      state = { positions: new Map(), letters: [], reading: Promise.resolve() };
      this.#topics.set(name, state);
    }
    const s = state;
    const run = s.reading.catch(() => undefined).then(() => this.#read(name, s));
    s.reading = run;
    await run;
    return [...s.letters];
  }

  close(): Promise<void> {
    return this.#consumer.close();
  }

  async #read(name: string, state: ReadState): Promise<void> {
    const reader = this.#consumer;
    const latest = (await reader.listOffsets({ topics: [name], timestamp: ListOffsetTimestamps.LATEST })).get(name) ?? [];
    for (let round = 0; round < 1_000; round++) {
      const md = await reader.metadata({ topics: [name] });
      const topic = md.topics.get(name);
      if (!topic) throw new Error(`topic ${name} is missing`);
      const pending: FetchPosition[] = [];
      latest.forEach((end, p) => {
        const at = state.positions.get(p) ?? 0n;
        if (at < end) pending.push([p, at]);
      });
      if (pending.length === 0) return;
      const { byNode, leaderless } = byLeader(topic, pending, ([p]) => p);
      if (leaderless.length > 0) throw new Error(`no leader for ${name}`);
      for (const [node, items] of byNode) {
        let response;
        try {
          response = await fetchFrom(reader, node, topic.id, items, { maxWaitTime: 100 });
        } catch (err) {
          if (!findErrorBy(err as Error, "apiId", "OFFSET_OUT_OF_RANGE")) throw err;
          const earliest = (await reader.listOffsets({ topics: [name], timestamp: ListOffsetTimestamps.EARLIEST })).get(name) ?? [];
          for (const [p] of items) state.positions.set(p, earliest[p] ?? 0n);
          continue;
        }
        for (const part of response.responses.flatMap((r) => r.partitions)) {
          const item = items.find(([p]) => p === part.partitionIndex);
          if (!item) continue;
          const { records, next } = decodeRecords(part, item[1]);
          for (const record of records) state.letters.push(JSON.parse(record.payload) as DeadLetter);
          // Nothing came back below the end offset (only control records there): skip ahead.
          const position = next === item[1] && part.errorCode === 0 ? (latest[part.partitionIndex] ?? next) : next;
          state.positions.set(part.partitionIndex, position);
        }
      }
    }
  }
}
