/**
 * The Kafka bus of distributed mode, on @platformatic/kafka. Same contract as the memory bus
 * (bus.ts); what it adds is a real broker:
 *
 * - Publishing: one idempotent producer per bus (acks=all, retried until the broker takes the
 *   message, so a publish during a broker restart waits instead of failing), keyed by chat id with
 *   Kafka's Java-compatible murmur2 partitioner, so any Kafka client puts a key on the same partition.
 * - Topics: the five topics of schemas.ts and their `<topic>.dlq` are created at start by an admin
 *   client with `partitions` partitions when missing. The broker runs with auto-create off, and the
 *   bus refuses topic names it does not know, so a typo fails instead of creating a topic.
 * - Consuming: one consumer-group member per `subscribe` call (the group protocol splits the
 *   partitions among the members of a group, across processes). The member fetches partitions
 *   itself (Consumer.fetch) rather than through the library's message stream: it then owns the fetch
 *   positions, so a rebalance can never make it skip or repeat an offset it already handed over, it
 *   reads ahead only a bounded number of messages per partition, and batches come from one partition
 *   in offset order by construction. Offsets are committed after `deliverBatch` resolved (autocommit
 *   off); a group without committed offsets starts at the earliest retained message.
 * - Failures: retry and dead-letter policy is `deliverBatch`'s (bus-delivery.ts), shared with the
 *   memory bus; dead letters are JSON records on `<topic>.dlq`. A member whose connection to the
 *   group breaks (broker restart, expired session) is torn down and rebuilt with backoff; it resumes
 *   from the committed offsets, or from what it had handled itself if the commit did not get through.
 *
 * Delivery is at least once: a message handled but not yet committed when its partition moves to
 * another member (rebalance, crash) is delivered again there. Sinks are idempotent for that reason.
 */
import {
  Admin,
  ConnectionPool,
  Consumer,
  IS_CONTROL,
  ListOffsetTimestamps,
  ProduceAcks,
  Producer,
  compatibilityPartitioner,
  findErrorBy,
  type GroupAssignment,
} from "@platformatic/kafka";
import {
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_PARTITIONS,
  backoffMs,
  deadLetterTopic,
  type BatchHandler,
  type Bus,
  type BusOptions,
  type SubscribeOptions,
  type Subscription,
} from "./bus.ts";
import { ConsumerClosingError, deliverBatch, encodeMessage, type WireRecord } from "./bus-delivery.ts";
import { TglensError } from "./errors.ts";
import type { Logger } from "./logger.ts";
import { TOPIC_NAMES, type DeadLetter, type MessageOf, type Topic } from "./schemas.ts";

export interface KafkaBusOptions extends BusOptions {
  /** Bootstrap brokers, "host:port". */
  brokers: string[];
  /** Names this process towards the broker; consumers and the producer derive theirs from it. */
  clientId: string;
  /** Prepended to every topic name on the wire (tests use a fresh one per run, e.g. "t123-"). */
  topicPrefix?: string;
  log?: Logger;
  /** How long createKafkaBus keeps trying to reach the broker and create topics (default 60 s). */
  startTimeoutMs?: number;
  /** Group session timeout: how soon a crashed member's partitions move on (default 10 s). */
  sessionTimeoutMs?: number;
  /** Group heartbeat interval; also how soon a member notices a rebalance (default 1 s). */
  heartbeatIntervalMs?: number;
  /** Longest a fetch waits at the broker for new messages (default 500 ms). */
  fetchMaxWaitMs?: number;
}

export interface KafkaBus extends Bus {
  readonly kind: "kafka";
  /** Partitions per topic the bus creates topics with. */
  readonly partitions: number;
  /** Produces a payload as-is, skipping publish-side validation: how tests simulate a foreign producer. */
  injectRaw(topic: Topic, key: string, payload: string): Promise<void>;
  /** A topic's name on the wire (with the prefix). */
  wireTopic(name: string): string;
}

type FetchResponse = Awaited<ReturnType<Consumer["fetch"]>>;

const KNOWN_TOPICS = new Set<string>(TOPIC_NAMES);
/** Records per produce request in publishMany. */
const SEND_CHUNK = 500;
/**
 * Payload bytes per produce request. The broker refuses a record batch over its message.max.bytes
 * (1 MiB by default) as a whole, and 256 embedded messages are about 1.3 MB of JSON: unbounded, every
 * embedder batch was refused and then delivered one message at a time.
 */
const SEND_CHUNK_BYTES = 768 * 1024;
const PARTITION_MAX_BYTES = 1 << 20;
const FETCH_MAX_BYTES = 8 << 20;

function assertTopic(topic: string): asserts topic is Topic {
  if (!KNOWN_TOPICS.has(topic)) {
    throw new TglensError("TGLENS_SCHEMA", `unknown topic "${topic}" (the bus knows ${TOPIC_NAMES.join(", ")})`);
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resolves with p, or rejects after ms (p keeps running). */
function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** A wake-up for loops: wait() resolves at the next notify() or after ms, whichever comes first. */
class Signal {
  #waiters: (() => void)[] = [];
  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const waiters = this.#waiters;
      function done() {
        clearTimeout(timer);
        const at = waiters.indexOf(done);
        if (at >= 0) waiters.splice(at, 1);
        resolve();
      }
      waiters.push(done);
    });
  }
  notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}

/** A latch that resolves once; `sleep` on it ends early when it fires. */
class Latch {
  fired = false;
  #resolve!: () => void;
  readonly promise = new Promise<void>((resolve) => (this.#resolve = resolve));
  fire(): void {
    this.fired = true;
    this.#resolve();
  }
  sleep(ms: number): Promise<void> {
    if (this.fired) return Promise.resolve();
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))), this.promise]).finally(() =>
      clearTimeout(timer),
    );
  }
}

interface FetchedRecord {
  offset: bigint;
  key: string;
  payload: string;
}

/** One assigned partition of one group member: where to fetch next, and what was fetched but not handed over. */
class PartitionState {
  position: bigint | undefined = undefined;
  queue: FetchedRecord[] = [];
}

/** What a subscription needs from its bus. */
interface BusContext {
  brokers: string[];
  clientId: string;
  wire(name: string): string;
  log: Logger | undefined;
  maxAttempts: number;
  retryBaseMs: number;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  fetchMaxWaitMs: number;
  deadLetter(letter: DeadLetter): Promise<void>;
}

/**
 * One subscribe() call: a member of `group` on one topic. It runs "generations" of a Consumer: when
 * one breaks (the broker went away long enough for the session to stall, a rejoin failed), it is
 * closed and a new one joins after a backoff. Generations never overlap, so a partition is never
 * handled by two loops of the same subscription at once.
 */
class KafkaSubscription<T extends Topic> implements Subscription {
  readonly #ctx: BusContext;
  readonly #topic: T;
  readonly #wireTopic: string;
  readonly #group: string;
  readonly #handler: BatchHandler<T>;
  readonly #batchSize: number;
  readonly #maxWaitMs: number;
  readonly #stopping = new Latch();
  readonly #joined = new Latch();
  /** Per partition, the offset after the last message this subscription handled (committed or not). */
  readonly processed = new Map<number, bigint>();
  /**
   * The group member id of the last generation that broke off without leaving the group (broker
   * unreachable). The next generation rejoins under it: if the broker still knows the member (it
   * restarted within the session timeout), the group does not wait a session timeout for the old
   * member to expire; if it does not, the join falls back to a new member id.
   */
  lastMemberId: string | null = null;
  #current: MemberGeneration<T> | undefined;
  #running: Promise<void> | undefined;

  constructor(ctx: BusContext, topic: T, group: string, handler: BatchHandler<T>, opts: SubscribeOptions) {
    this.#ctx = ctx;
    this.#topic = topic;
    this.#wireTopic = ctx.wire(topic);
    this.#group = group;
    this.#handler = handler;
    this.#batchSize = Math.max(1, opts.batchSize ?? 1);
    this.#maxWaitMs = Math.max(0, opts.maxWaitMs ?? 0);
  }

  get stopping(): boolean {
    return this.#stopping.fired;
  }

  /** Resolves when close() was called. */
  get stopped(): Promise<void> {
    return this.#stopping.promise;
  }

  /** Starts consuming; resolves once the member has its first assignment (or after joinWaitMs). */
  async start(joinWaitMs: number): Promise<void> {
    this.#running = this.#supervise();
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => (timer = setTimeout(resolve, joinWaitMs)));
    await Promise.race([this.#joined.promise, this.#stopping.promise, waited]).finally(() => clearTimeout(timer));
    if (!this.#joined.fired && !this.stopping) {
      this.#ctx.log?.warn({ topic: this.#topic, group: this.#group }, "kafka consumer has not joined its group yet; still trying");
    }
  }

  markJoined(): void {
    if (!this.#joined.fired) this.#joined.fire();
  }

  async close(): Promise<void> {
    if (!this.stopping) {
      this.#stopping.fire();
      this.#current?.wake();
    }
    await this.#running;
  }

  async #supervise(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      const generation = new MemberGeneration(this.#ctx, this, this.#topic, this.#wireTopic, this.#group, this.#handler, {
        batchSize: this.#batchSize,
        maxWaitMs: this.#maxWaitMs,
      });
      this.#current = generation;
      try {
        await generation.run();
      } catch (err) {
        if (this.stopping) break;
        failures = generation.wasHealthy ? 1 : failures + 1;
        const delay = backoffMs(failures, 500);
        this.#ctx.log?.warn(
          { err, topic: this.#topic, group: this.#group, retryInMs: delay },
          "kafka consumer lost its group or broker; reconnecting",
        );
        await this.#stopping.sleep(delay);
      }
    }
    this.#current = undefined;
  }
}

class MemberGeneration<T extends Topic> {
  readonly #ctx: BusContext;
  readonly #owner: KafkaSubscription<T>;
  readonly #topic: T;
  readonly #wireTopic: string;
  readonly #group: string;
  readonly #handler: BatchHandler<T>;
  readonly #batchSize: number;
  readonly #maxWaitMs: number;
  /** Read-ahead bound per partition. */
  readonly #maxQueue: number;
  readonly #signal = new Signal();
  readonly #dead = new Latch();
  readonly #parts = new Map<number, PartitionState>();
  /** Offsets handled but not yet committed, per partition. */
  readonly #uncommitted = new Map<number, bigint>();
  #consumer: Consumer | undefined;
  #pool: ConnectionPool | undefined;
  #committing: Promise<void> | undefined;
  /** Offsets were handled while a commit was in flight: commit again when it is done. */
  #commitAgain = false;
  #failure: unknown;
  #warned = 0;
  /** Set once the member joined its group: the next failure starts the reconnect backoff afresh. */
  wasHealthy = false;

  constructor(
    ctx: BusContext,
    owner: KafkaSubscription<T>,
    topic: T,
    wireTopic: string,
    group: string,
    handler: BatchHandler<T>,
    opts: { batchSize: number; maxWaitMs: number },
  ) {
    this.#ctx = ctx;
    this.#owner = owner;
    this.#topic = topic;
    this.#wireTopic = wireTopic;
    this.#group = group;
    this.#handler = handler;
    this.#batchSize = opts.batchSize;
    this.#maxWaitMs = opts.maxWaitMs;
    this.#maxQueue = Math.max(opts.batchSize * 4, 500);
  }

  get #active(): boolean {
    return !this.#owner.stopping && !this.#dead.fired;
  }

  wake(): void {
    this.#signal.notify();
  }

  #fail(err: unknown): void {
    if (this.#dead.fired) return;
    this.#failure = err;
    this.#dead.fire();
    this.#signal.notify();
  }

  async run(): Promise<void> {
    const ctx = this.#ctx;
    const consumer = new Consumer({
      clientId: `${ctx.clientId}-${this.#group}`,
      bootstrapBrokers: ctx.brokers,
      groupId: this.#group,
      autocommit: false,
      sessionTimeout: ctx.sessionTimeoutMs,
      heartbeatInterval: ctx.heartbeatIntervalMs,
      rebalanceTimeout: Math.max(ctx.sessionTimeoutMs * 3, 30_000),
      // No heartbeat answered for two sessions: rebuild the member rather than trust a wedged one.
      heartbeatStallTimeout: ctx.sessionTimeoutMs * 2,
      connectTimeout: 5_000,
      timeout: 10_000,
      retries: 3,
      retryDelay: 250,
      maxWaitTime: ctx.fetchMaxWaitMs,
      minBytes: 1,
      maxBytes: FETCH_MAX_BYTES,
    });
    this.#consumer = consumer;
    // Fetches long-poll; they get their own connections so heartbeats and commits never queue behind one.
    this.#pool = new ConnectionPool(`${ctx.clientId}-${this.#group}-fetch`, { connectTimeout: 5_000, requestTimeout: 15_000 });
    consumer.on("error", (err: Error) => this.#fail(err));
    consumer.on("consumer:heartbeat:stalled", (payload) =>
      this.#fail(new Error(`no heartbeat answered for ${payload.stalledFor} ms`, { cause: payload.lastError })),
    );
    consumer.on("consumer:group:join", (payload) => this.#assign(payload.assignments ?? []));

    const loops: Promise<unknown>[] = [];
    let threw = false;
    try {
      consumer.topics.track(this.#wireTopic);
      if (this.#owner.lastMemberId) consumer.memberId = this.#owner.lastMemberId;
      await Promise.race([consumer.joinGroup({}), this.#dead.promise, this.#owner.stopped]);
      if (this.#active) {
        this.wasHealthy = true;
        const both = Promise.all([this.#fetchLoop(), this.#processLoop()]);
        loops.push(both);
        await Promise.race([both, this.#dead.promise]);
      }
    } catch (err) {
      threw = true;
      if (this.#failure === undefined) this.#failure = err;
    } finally {
      const failed = this.#dead.fired || threw;
      this.#dead.fire();
      this.#signal.notify();
      const settled = await Promise.allSettled(loops);
      if (!failed) await this.#finalCommit();
      this.#owner.lastMemberId = failed && !this.#owner.stopping ? consumer.memberId : null;
      await withTimeout(this.#pool.close(), 5_000, "closing fetch connections").catch(() => undefined);
      // A member that leaves hands its partitions over at once instead of after its session timeout.
      await withTimeout(consumer.close(true), 5_000, "leaving the group").catch(() => undefined);
      for (const s of settled) if (s.status === "rejected" && this.#failure === undefined) this.#failure = s.reason;
    }
    if (this.#failure !== undefined && !this.#owner.stopping) throw this.#failure;
  }

  /** A (re)join finished: keep what still belongs to us, drop the rest, find positions for the new. */
  #assign(assignments: GroupAssignment[]): void {
    const mine = new Set(assignments.find((a) => a.topic === this.#wireTopic)?.partitions ?? []);
    for (const p of [...this.#parts.keys()]) {
      if (!mine.has(p)) {
        this.#parts.delete(p);
        this.#uncommitted.delete(p);
      }
    }
    for (const p of mine) if (!this.#parts.has(p)) this.#parts.set(p, new PartitionState());
    this.#ctx.log?.debug({ topic: this.#topic, group: this.#group, partitions: [...mine] }, "kafka partitions assigned");
    this.#owner.markJoined();
    this.#signal.notify();
  }

  #warn(err: unknown, msg: string): void {
    // The first failure of a streak and then every 20th: a broker outage must not flood the log.
    if (this.#warned++ % 20 === 0) this.#ctx.log?.warn({ err, topic: this.#topic, group: this.#group }, msg);
  }

  async #fetchLoop(): Promise<void> {
    let failures = 0;
    while (this.#active) {
      try {
        const unresolved = [...this.#parts].filter(([, st]) => st.position === undefined);
        if (unresolved.length > 0) {
          await this.#resolvePositions(unresolved);
        } else {
          const wanted = [...this.#parts].filter(([, st]) => st.queue.length < this.#maxQueue);
          if (wanted.length === 0) {
            await this.#signal.wait(1_000);
            continue;
          }
          await this.#fetchOnce(wanted);
        }
        failures = 0;
        this.#warned = 0;
      } catch (err) {
        if (!this.#active) break;
        failures++;
        if (findErrorBy(err as Error, "apiId", "OFFSET_OUT_OF_RANGE")) {
          await this.#resetOutOfRange().catch((e) => this.#warn(e, "kafka offset reset failed"));
          continue;
        }
        this.#warn(err, "kafka fetch failed; retrying");
        await this.#dead.sleep(backoffMs(failures, 200));
      }
    }
  }

  /** New partitions start at the group's committed offset, or the earliest one for a new group. */
  async #resolvePositions(unresolved: [number, PartitionState][]): Promise<void> {
    const consumer = this.#consumer!;
    const partitions = unresolved.map(([p]) => p);
    const committed = (await consumer.listCommittedOffsets({ topics: [{ topic: this.#wireTopic, partitions }] })).get(this.#wireTopic) ?? [];
    const needEarliest = partitions.filter((p) => !((committed[p] ?? -1n) >= 0n));
    let earliest: bigint[] = [];
    if (needEarliest.length > 0) {
      const listed = await consumer.listOffsets({
        topics: [this.#wireTopic],
        partitions: { [this.#wireTopic]: needEarliest },
        timestamp: ListOffsetTimestamps.EARLIEST,
      });
      earliest = listed.get(this.#wireTopic) ?? [];
    }
    for (const [p, st] of unresolved) {
      if (this.#parts.get(p) !== st || st.position !== undefined) continue;
      const c = committed[p] ?? -1n;
      let position = c >= 0n ? c : earliest[p];
      if (position === undefined) continue;
      // Handled by this subscription before (an earlier generation) but the commit did not get through.
      const handled = this.#owner.processed.get(p);
      if (handled !== undefined && handled > position) {
        position = handled;
        this.#uncommitted.set(p, handled);
      }
      st.position = position;
    }
    if (this.#uncommitted.size > 0) await this.#flushCommits();
  }

  async #fetchOnce(wanted: [number, PartitionState][]): Promise<void> {
    const consumer = this.#consumer!;
    const metadata = await consumer.metadata({ topics: [this.#wireTopic] });
    const topic = metadata.topics.get(this.#wireTopic);
    if (!topic) throw new Error(`topic ${this.#wireTopic} is missing from the metadata`);
    const byNode = new Map<number, [number, PartitionState, bigint][]>();
    for (const [p, st] of wanted) {
      const leader = topic.partitions[p]?.leader ?? -1;
      if (leader < 0 || st.position === undefined) continue;
      const list = byNode.get(leader) ?? [];
      list.push([p, st, st.position]);
      byNode.set(leader, list);
    }
    if (byNode.size === 0) {
      consumer.clearMetadata();
      throw new Error(`no leader known for ${this.#wireTopic}`);
    }
    await Promise.all(
      [...byNode].map(async ([node, items]) => {
        const response = await consumer.fetch({
          node,
          topics: [
            {
              topicId: topic.id,
              partitions: items.map(([partition, , fetchOffset]) => ({
                partition,
                fetchOffset,
                partitionMaxBytes: PARTITION_MAX_BYTES,
                currentLeaderEpoch: -1,
                lastFetchedEpoch: -1,
              })),
            },
          ],
          maxWaitTime: this.#ctx.fetchMaxWaitMs,
          minBytes: 1,
          maxBytes: FETCH_MAX_BYTES,
          connectionPool: this.#pool!,
        });
        this.#apply(response, topic.id, items);
      }),
    );
    this.#signal.notify();
  }

  /** Appends fetched records to their partition's queue, unless the partition changed hands meanwhile. */
  #apply(response: FetchResponse, topicId: string, items: [number, PartitionState, bigint][]): void {
    for (const topicResponse of response.responses) {
      if (topicResponse.topicId !== topicId) continue;
      for (const part of topicResponse.partitions) {
        const item = items.find(([p]) => p === part.partitionIndex);
        if (!item || part.errorCode !== 0) continue;
        const [p, st, requested] = item;
        if (this.#parts.get(p) !== st || st.position !== requested) continue;
        let position = requested;
        for (const batch of part.records ?? []) {
          if ((batch.attributes & IS_CONTROL) === 0) {
            for (const record of batch.records) {
              const offset = batch.firstOffset + BigInt(record.offsetDelta);
              if (offset < position) continue;
              st.queue.push({ offset, key: record.key?.toString("utf8") ?? "", payload: record.value?.toString("utf8") ?? "" });
            }
          }
          const next = batch.firstOffset + BigInt(batch.lastOffsetDelta) + 1n;
          if (next > position) position = next;
        }
        st.position = position;
      }
    }
  }

  /** The log no longer holds our position (retention, a recreated topic): go to the earliest offset. */
  async #resetOutOfRange(): Promise<void> {
    const consumer = this.#consumer!;
    const earliest = (await consumer.listOffsets({ topics: [this.#wireTopic], timestamp: ListOffsetTimestamps.EARLIEST })).get(this.#wireTopic) ?? [];
    const latest = (await consumer.listOffsets({ topics: [this.#wireTopic], timestamp: ListOffsetTimestamps.LATEST })).get(this.#wireTopic) ?? [];
    for (const [p, st] of this.#parts) {
      const lo = earliest[p];
      const hi = latest[p];
      if (st.position === undefined || lo === undefined || hi === undefined) continue;
      if (st.position < lo || st.position > hi) {
        this.#ctx.log?.warn({ topic: this.#topic, group: this.#group, partition: p, from: String(st.position), to: String(lo) }, "kafka offset out of range; resetting to the earliest");
        st.position = lo;
      }
    }
  }

  async #processLoop(): Promise<void> {
    let turn = 0;
    while (this.#active) {
      const ready = [...this.#parts].filter(([, st]) => st.queue.length > 0);
      if (ready.length === 0) {
        if (this.#uncommitted.size > 0) await this.#flushCommits();
        await this.#signal.wait(this.#uncommitted.size > 0 ? 1_000 : 5_000);
        continue;
      }
      const [p, st] = ready[turn++ % ready.length]!;
      if (this.#maxWaitMs > 0 && st.queue.length < this.#batchSize) {
        const until = Date.now() + this.#maxWaitMs;
        while (this.#active && this.#parts.get(p) === st && st.queue.length < this.#batchSize && Date.now() < until) {
          await this.#signal.wait(until - Date.now());
        }
        if (!this.#active) break;
        if (this.#parts.get(p) !== st) continue;
      }
      const batch = st.queue.splice(0, this.#batchSize);
      this.#signal.notify();
      const records: WireRecord[] = batch.map((r) => ({
        meta: { topic: this.#topic, partition: p, offset: r.offset.toString(), key: r.key },
        payload: r.payload,
      }));
      try {
        await deliverBatch(this.#topic, records, this.#handler, {
          maxAttempts: this.#ctx.maxAttempts,
          retryBaseMs: this.#ctx.retryBaseMs,
          deadLetter: (letter) => this.#ctx.deadLetter(letter),
          isClosing: () => !this.#active || this.#parts.get(p) !== st,
          onBatchError: (err, size) =>
            this.#ctx.log?.warn({ err, topic: this.#topic, group: this.#group, partition: p, size }, "a batch failed; delivering its messages one at a time"),
        });
      } catch (err) {
        // Stopped in mid-retry (closing, or the partition moved on): not committed, delivered again later.
        if (err instanceof ConsumerClosingError) continue;
        throw err;
      }
      const end = batch[batch.length - 1]!.offset + 1n;
      const before = this.#owner.processed.get(p);
      if (before === undefined || end > before) this.#owner.processed.set(p, end);
      if (this.#parts.get(p) === st) {
        this.#uncommitted.set(p, end);
        // Committed in the background while the next batch runs: one commit in flight at a time,
        // always the newest handled offset, so commits only ever move forward.
        void this.#flushCommits();
      }
    }
  }

  /** Waits for the commit in flight, then commits what is left (closing). */
  async #finalCommit(): Promise<void> {
    if (this.#committing) await this.#committing;
    if (this.#uncommitted.size > 0) await this.#flushCommits();
  }

  /** Commits the handled offsets of partitions still ours; failures stay queued for the next try. Never rejects. */
  #flushCommits(): Promise<void> {
    if (this.#committing) {
      this.#commitAgain = true;
      return this.#committing;
    }
    const offsets = [];
    for (const [p, offset] of this.#uncommitted) {
      if (this.#parts.has(p)) offsets.push({ topic: this.#wireTopic, partition: p, offset, leaderEpoch: -1 });
      else this.#uncommitted.delete(p);
    }
    if (offsets.length === 0 || !this.#consumer) return Promise.resolve();
    const consumer = this.#consumer;
    this.#committing = (async () => {
      try {
        await consumer.commit({ offsets });
        for (const o of offsets) if (this.#uncommitted.get(o.partition) === o.offset) this.#uncommitted.delete(o.partition);
      } catch (err) {
        this.#warn(err, "kafka offset commit failed; will retry");
      } finally {
        this.#committing = undefined;
        if (this.#commitAgain) {
          this.#commitAgain = false;
          if (this.#uncommitted.size > 0 && this.#consumer === consumer) void this.#flushCommits();
        }
      }
    })();
    return this.#committing;
  }
}

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

/**
 * Connects to the brokers, creates the bus's topics where missing, and returns the bus. Keeps trying
 * for `startTimeoutMs` if the broker is not up yet.
 */
export async function createKafkaBus(opts: KafkaBusOptions): Promise<KafkaBus> {
  const partitions = opts.partitions ?? DEFAULT_PARTITIONS;
  const prefix = opts.topicPrefix ?? "";
  const log = opts.log;
  const wire = (name: string) => `${prefix}${name}`;
  const allWireTopics = TOPIC_NAMES.flatMap((t) => [wire(t), wire(deadLetterTopic(t))]);
  const base = { bootstrapBrokers: opts.brokers, connectTimeout: 5_000, timeout: 10_000 };

  const admin = new Admin({ clientId: `${opts.clientId}-admin`, ...base, retries: 0 });
  const producer = new Producer({
    clientId: `${opts.clientId}-producer`,
    ...base,
    idempotent: true,
    acks: ProduceAcks.ALL,
    // Java's partitioner (murmur2, sign bit masked): every Kafka client agrees where a chat goes.
    partitioner: compatibilityPartitioner,
    retryDelay: 500,
  });
  // Reads dead-letter topics without joining any group.
  const reader = new Consumer({ clientId: `${opts.clientId}-dlq-reader`, groupId: `${opts.clientId}-dlq-reader`, ...base, autocommit: false });

  async function ensureTopics(): Promise<void> {
    const existing = new Set(await admin.listTopics());
    for (const name of allWireTopics) {
      if (existing.has(name)) continue;
      try {
        await admin.createTopics({ topics: [name], partitions, replicas: -1 });
        log?.info({ topic: name, partitions }, "kafka topic created");
      } catch (err) {
        if (!findErrorBy(err as Error, "apiId", "TOPIC_ALREADY_EXISTS")) throw err;
      }
    }
    // Created topics take a moment to get leaders; wait so the first publish does not race them.
    const deadline = Date.now() + 15_000;
    for (;;) {
      const md = await admin.metadata({ topics: allWireTopics, forceUpdate: true }).catch(() => undefined);
      const pending = allWireTopics.filter((n) => {
        const t = md?.topics.get(n);
        return !t || t.partitions.length === 0 || t.partitions.some((p) => !p || p.leader < 0);
      });
      if (md && pending.length === 0) {
        for (const n of allWireTopics) {
          const count = md.topics.get(n)!.partitionsCount;
          if (count !== partitions) log?.warn({ topic: n, partitions: count, configured: partitions }, "kafka topic exists with another partition count; keeping it");
        }
        return;
      }
      if (Date.now() > deadline) throw new Error(`topics without a leader: ${pending.join(", ")}`);
      await sleep(100);
    }
  }

  const startDeadline = Date.now() + (opts.startTimeoutMs ?? 60_000);
  for (let attempt = 1; ; attempt++) {
    try {
      await ensureTopics();
      break;
    } catch (err) {
      if (Date.now() >= startDeadline) {
        await Promise.allSettled([admin.close(), producer.close(), reader.close()]);
        throw new TglensError("TGLENS_NOT_READY", `Kafka at ${opts.brokers.join(",")} could not be reached or set up: ${(err as Error).message}`, {
          cause: err,
        });
      }
      const delay = backoffMs(attempt, 500);
      log?.warn({ err, brokers: opts.brokers, retryInMs: delay }, "kafka not reachable yet; retrying");
      await sleep(delay);
    }
  }

  let closed = false;
  const subscriptions = new Set<KafkaSubscription<Topic>>();
  const sending = new Set<Promise<unknown>>();

  async function produce(records: { topic: string; key: string; payload: string }[]): Promise<void> {
    if (closed) throw new TglensError("TGLENS_NOT_READY", "the Kafka bus is closed");
    for (const chunk of chunkRecords(records)) {
      const sent = producer.send({
        messages: chunk.map((r) => ({ topic: r.topic, key: Buffer.from(r.key, "utf8"), value: Buffer.from(r.payload, "utf8") })),
      });
      sending.add(sent);
      try {
        await sent;
      } finally {
        sending.delete(sent);
      }
    }
  }

  async function deadLetter(letter: DeadLetter): Promise<void> {
    await produce([{ topic: wire(deadLetterTopic(letter.topic as Topic)), key: letter.key, payload: JSON.stringify(letter) }]);
    try {
      opts.onDeadLetter?.(letter);
    } catch (err) {
      log?.error({ err }, "onDeadLetter hook failed");
    }
  }

  /** Dead letters read so far per topic, and where to continue reading. */
  const dlq = new Map<string, { positions: Map<number, bigint>; letters: DeadLetter[]; reading: Promise<void> }>();

  async function readDeadLetters(name: string, state: { positions: Map<number, bigint>; letters: DeadLetter[] }): Promise<void> {
    const latest = (await reader.listOffsets({ topics: [name], timestamp: ListOffsetTimestamps.LATEST })).get(name) ?? [];
    for (let round = 0; round < 1_000; round++) {
      const md = await reader.metadata({ topics: [name] });
      const topic = md.topics.get(name);
      if (!topic) throw new Error(`topic ${name} is missing`);
      const pending: [number, bigint][] = [];
      latest.forEach((end, p) => {
        const at = state.positions.get(p) ?? 0n;
        if (at < end) pending.push([p, at]);
      });
      if (pending.length === 0) return;
      const byNode = new Map<number, [number, bigint][]>();
      for (const item of pending) {
        const leader = topic.partitions[item[0]]?.leader ?? -1;
        if (leader < 0) throw new Error(`no leader for ${name}`);
        byNode.set(leader, [...(byNode.get(leader) ?? []), item]);
      }
      for (const [node, items] of byNode) {
        let response: FetchResponse;
        try {
          response = await reader.fetch({
            node,
            topics: [
              {
                topicId: topic.id,
                partitions: items.map(([partition, fetchOffset]) => ({
                  partition,
                  fetchOffset,
                  partitionMaxBytes: PARTITION_MAX_BYTES,
                  currentLeaderEpoch: -1,
                  lastFetchedEpoch: -1,
                })),
              },
            ],
            maxWaitTime: 100,
            minBytes: 1,
            maxBytes: FETCH_MAX_BYTES,
          });
        } catch (err) {
          if (!findErrorBy(err as Error, "apiId", "OFFSET_OUT_OF_RANGE")) throw err;
          const earliest = (await reader.listOffsets({ topics: [name], timestamp: ListOffsetTimestamps.EARLIEST })).get(name) ?? [];
          for (const [p] of items) state.positions.set(p, earliest[p] ?? 0n);
          continue;
        }
        for (const topicResponse of response.responses) {
          for (const part of topicResponse.partitions) {
            const item = items.find(([p]) => p === part.partitionIndex);
            if (!item) continue;
            let position = item[1];
            const start = position;
            for (const batch of part.records ?? []) {
              if ((batch.attributes & IS_CONTROL) === 0) {
                for (const record of batch.records) {
                  const offset = batch.firstOffset + BigInt(record.offsetDelta);
                  if (offset < position) continue;
                  try {
                    state.letters.push(JSON.parse(record.value?.toString("utf8") ?? "") as DeadLetter);
                  } catch {
                    log?.warn({ topic: name, partition: part.partitionIndex, offset: String(offset) }, "unreadable dead letter skipped");
                  }
                }
              }
              const next = batch.firstOffset + BigInt(batch.lastOffsetDelta) + 1n;
              if (next > position) position = next;
            }
            // Nothing came back below the end offset (only control records there): skip ahead.
            if (position === start && part.errorCode === 0) position = latest[part.partitionIndex] ?? position;
            state.positions.set(part.partitionIndex, position);
          }
        }
      }
    }
  }

  const bus: KafkaBus = {
    kind: "kafka",
    partitions,

    wireTopic: wire,

    async publish<T extends Topic>(topic: T, message: MessageOf<T>, o: { key: string }) {
      assertTopic(topic);
      await produce([{ topic: wire(topic), key: o.key, payload: encodeMessage(topic, message) }]);
    },

    async publishMany<T extends Topic>(topic: T, items: readonly { message: MessageOf<T>; key: string }[]) {
      assertTopic(topic);
      const records = items.map((item) => ({ topic: wire(topic), key: item.key, payload: encodeMessage(topic, item.message) }));
      if (records.length > 0) await produce(records);
    },

    async injectRaw(topic: Topic, key: string, payload: string) {
      assertTopic(topic);
      await produce([{ topic: wire(topic), key, payload }]);
    },

    async subscribe<T extends Topic>(topic: T, group: string, handler: BatchHandler<T>, o: SubscribeOptions = {}): Promise<Subscription> {
      assertTopic(topic);
      if (closed) throw new TglensError("TGLENS_NOT_READY", "the Kafka bus is closed");
      const sub = new KafkaSubscription<T>(ctx, topic, group, handler, o);
      subscriptions.add(sub as unknown as KafkaSubscription<Topic>);
      await sub.start(30_000);
      return {
        async close() {
          await sub.close();
          subscriptions.delete(sub as unknown as KafkaSubscription<Topic>);
        },
      };
    },

    async deadLetters(topic: Topic) {
      assertTopic(topic);
      const name = wire(deadLetterTopic(topic));
      let state = dlq.get(name);
      if (!state) {
        state = { positions: new Map(), letters: [], reading: Promise.resolve() };
        dlq.set(name, state);
      }
      const s = state;
      // One reader per topic at a time: positions advance in order.
      const run = s.reading.catch(() => undefined).then(() => readDeadLetters(name, s));
      s.reading = run;
      await run;
      return [...s.letters];
    },

    async ready() {
      if (closed) return false;
      try {
        const md = await withTimeout(admin.metadata({ topics: allWireTopics, forceUpdate: true }), 3_000, "kafka metadata");
        return allWireTopics.every((n) => md.topics.has(n));
      } catch {
        return false;
      }
    },

    async close() {
      if (closed) return;
      closed = true;
      await Promise.allSettled([...subscriptions].map((s) => s.close()));
      subscriptions.clear();
      // Flush: what was handed to the producer gets to the broker, unless it is down for long.
      await withTimeout(Promise.allSettled([...sending]), 10_000, "flushing the producer").catch((err) =>
        log?.warn({ err }, "kafka producer did not flush before close"),
      );
      await Promise.allSettled([
        withTimeout(producer.close(), 5_000, "closing the producer"),
        withTimeout(reader.close(), 5_000, "closing the reader"),
        withTimeout(admin.close(), 5_000, "closing the admin client"),
      ]);
    },
  };

  const ctx: BusContext = {
    brokers: opts.brokers,
    clientId: opts.clientId,
    wire,
    log,
    maxAttempts: opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    retryBaseMs: opts.retryBaseMs ?? 50,
    sessionTimeoutMs: opts.sessionTimeoutMs ?? 10_000,
    heartbeatIntervalMs: opts.heartbeatIntervalMs ?? 1_000,
    fetchMaxWaitMs: opts.fetchMaxWaitMs ?? 500,
    deadLetter,
  };

  return bus;
}
