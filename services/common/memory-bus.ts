/**
 * The in-memory bus of embedded mode. It keeps Kafka's semantics so that what breaks on Kafka
 * breaks here too: partitioned logs with offsets, per-key order, one delivery per consumer group,
 * commit after the handler resolved, new groups start at the earliest retained message, payloads
 * serialised and validated on the way in and out, retries then `<topic>.dlq`.
 *
 * Unlike Kafka it has no disk, so it applies backpressure instead: a publish waits while the slowest
 * active group lags more than `maxLag` messages on that partition. Entries every known group has
 * committed are dropped, which keeps memory flat during a long import.
 *
 * Dead letters are kept in memory; `memoryDeadLetters` reads them back (tests), outside `Bus`.
 */
import {
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_PARTITIONS,
  assertTopic,
  busClosedError,
  partitionForKey,
  type BatchHandler,
  type Bus,
  type BusOptions,
  type SubscribeOptions,
  type Subscription,
} from "./bus.ts";
import { ConsumerClosingError, deliverBatch, encodeMessage, type WireRecord } from "./bus-delivery.ts";
import type { DeadLetter, MessageOf, Topic } from "./schemas.ts";

interface Entry {
  key: string;
  payload: string;
}

/** One partition's log: entries[i] has offset base + i. */
class PartitionLog {
  base = 0;
  entries: Entry[] = [];
  /** Committed offset per group that ever consumed this partition. */
  committed = new Map<string, number>();
  private waiters: (() => void)[] = [];

  get end(): number {
    return this.base + this.entries.length;
  }

  append(entry: Entry): void {
    this.entries.push(entry);
    this.wake();
  }

  /** Resolves when something changes (new entry, a commit, a close). */
  changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  commit(group: string, offset: number): void {
    this.committed.set(group, offset);
    const low = Math.min(...this.committed.values());
    if (low > this.base) {
      this.entries.splice(0, low - this.base);
      this.base = low;
    }
    this.wake();
  }

  lagOf(groups: Iterable<string>): number {
    let lag = 0;
    for (const g of groups) lag = Math.max(lag, this.end - (this.committed.get(g) ?? this.base));
    return lag;
  }
}

interface GroupMember {
  handler: BatchHandler<Topic>;
  opts: Required<SubscribeOptions>;
}

class TopicState {
  readonly partitions: PartitionLog[];
  /** Active members per group; partitions are served round-robin among a group's members. */
  readonly groups = new Map<string, GroupMember[]>();
  /** The consume loops serving each group, one per partition. */
  readonly groupLoops = new Map<string, Promise<void>[]>();
  constructor(count: number) {
    this.partitions = Array.from({ length: count }, () => new PartitionLog());
  }
}

export interface MemoryBusOptions extends BusOptions {
  /** Largest lag a publish tolerates before it waits for consumers (default 20,000 per partition). */
  maxLag?: number;
}

export interface MemoryBus extends Bus {
  /** Appends a payload as-is, skipping publish-side validation: how tests simulate a foreign producer. */
  injectRaw(topic: Topic, key: string, payload: string): Promise<void>;
}

/** The dead letters each memory bus holds, per topic; read through memoryDeadLetters. */
const deadLettersOfBus = new WeakMap<MemoryBus, ReadonlyMap<string, readonly DeadLetter[]>>();

/** Dead letters of a topic so far on a memory bus (for tests; not part of `Bus`). */
export function memoryDeadLetters(bus: MemoryBus, topic: Topic): DeadLetter[] {
  const letters = deadLettersOfBus.get(bus);
  if (!letters) throw new TypeError("not a bus made by createMemoryBus");
  return [...(letters.get(topic) ?? [])];
}

export function createMemoryBus(options: MemoryBusOptions = {}): MemoryBus {
  const partitionCount = options.partitions ?? DEFAULT_PARTITIONS;
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const retryBaseMs = options.retryBaseMs ?? 50;
  const maxLag = options.maxLag ?? 20_000;
  const topics = new Map<string, TopicState>();
  const deadLetters = new Map<string, DeadLetter[]>();
  const loops = new Set<Promise<void>>();
  let closed = false;

  const topicState = (topic: string): TopicState => {
    let state = topics.get(topic);
    if (!state) {
      state = new TopicState(partitionCount);
      topics.set(topic, state);
    }
    return state;
  };

  async function append(topic: Topic, key: string, payload: string): Promise<void> {
    const state = topicState(topic);
    const log = state.partitions[partitionForKey(key, partitionCount)]!;
    while (!closed && state.groups.size > 0 && log.lagOf(state.groups.keys()) >= maxLag) await log.changed();
    if (closed) throw busClosedError("memory");
    log.append({ key, payload });
  }

  async function deadLetter(letter: DeadLetter): Promise<void> {
    const list = deadLetters.get(letter.topic) ?? [];
    list.push(letter);
    deadLetters.set(letter.topic, list);
    options.onDeadLetter?.(letter);
  }

  /** Serves one (group, partition): fetch, deliver, commit, in order, until closed. */
  async function consumeLoop(topic: Topic, group: string, state: TopicState, partition: number, isStopped: () => boolean) {
    const log = state.partitions[partition]!;
    if (!log.committed.has(group)) log.committed.set(group, log.base);
    let turn = 0;
    while (!closed && !isStopped()) {
      const members = state.groups.get(group);
      if (!members || members.length === 0) return;
      const member = members[turn++ % members.length]!;
      const next = log.committed.get(group)!;
      if (next >= log.end) {
        await log.changed();
        continue;
      }
      if (member.opts.maxWaitMs > 0 && log.end - next < member.opts.batchSize) {
        await Promise.race([log.changed(), sleep(member.opts.maxWaitMs)]);
        if (log.end - next < member.opts.batchSize) await sleep(member.opts.maxWaitMs);
      }
      const upto = Math.min(log.end, next + member.opts.batchSize);
      const records: WireRecord[] = [];
      for (let offset = next; offset < upto; offset++) {
        const entry = log.entries[offset - log.base]!;
        records.push({ meta: { topic, partition, offset: String(offset), key: entry.key }, payload: entry.payload });
      }
      try {
        await deliverBatch(topic, records, member.handler, {
          maxAttempts,
          retryBaseMs,
          deadLetter,
          isClosing: () => closed || isStopped(),
        });
      } catch (err) {
        if (err instanceof ConsumerClosingError) return;
        throw err;
      }
      log.commit(group, upto);
    }
  }

  const bus: MemoryBus = {
    async publish<T extends Topic>(topic: T, message: MessageOf<T>, opts: { key: string }) {
      assertTopic(topic);
      await append(topic, opts.key, encodeMessage(topic, message));
    },

    async publishMany<T extends Topic>(topic: T, items: readonly { message: MessageOf<T>; key: string }[]) {
      assertTopic(topic);
      const encoded = items.map((item) => ({ key: item.key, payload: encodeMessage(topic, item.message) }));
      for (const item of encoded) await append(topic, item.key, item.payload);
    },

    async subscribe<T extends Topic>(topic: T, group: string, handler: BatchHandler<T>, opts: SubscribeOptions = {}): Promise<Subscription> {
      assertTopic(topic);
      if (closed) throw busClosedError("memory");
      const state = topicState(topic);
      const member: GroupMember = {
        handler: handler as unknown as BatchHandler<Topic>,
        opts: { batchSize: opts.batchSize ?? 1, maxWaitMs: opts.maxWaitMs ?? 0 },
      };
      const members = state.groups.get(group);
      let stopped = false;
      if (members) {
        members.push(member);
      } else {
        state.groups.set(group, [member]);
        const running: Promise<void>[] = [];
        for (let p = 0; p < partitionCount; p++) {
          const loop = consumeLoop(topic, group, state, p, () => !state.groups.has(group));
          loops.add(loop);
          running.push(loop);
          void loop.finally(() => loops.delete(loop));
        }
        state.groupLoops.set(group, running);
      }
      return {
        async close() {
          if (stopped) return;
          stopped = true;
          const list = state.groups.get(group) ?? [];
          const at = list.indexOf(member);
          if (at >= 0) list.splice(at, 1);
          if (list.length > 0) return;
          state.groups.delete(group);
          for (const log of state.partitions) log.wake();
          await Promise.allSettled(state.groupLoops.get(group) ?? []);
          state.groupLoops.delete(group);
        },
      };
    },

    async injectRaw(topic: Topic, key: string, payload: string) {
      assertTopic(topic);
      await append(topic, key, payload);
    },

    durable: false,
    async ready() {
      return !closed;
    },

    async close() {
      closed = true;
      for (const state of topics.values()) for (const log of state.partitions) log.wake();
      await Promise.allSettled([...loops]);
    },
  };
  deadLettersOfBus.set(bus, deadLetters);
  return bus;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
