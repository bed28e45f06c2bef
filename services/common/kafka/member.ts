/**
 * One generation of a subscription's group member: a Consumer joins the group, then two loops run
 * until it breaks or is stopped. The fetch loop reads partitions itself (Consumer.fetch, not the
 * library's message stream), so it owns the fetch positions: a rebalance can never make it skip or
 * repeat an offset it already handed over, it reads ahead a bounded number of messages per
 * partition, and batches come from one partition in offset order by construction. The process loop
 * hands them to deliverBatch and commits behind it (commits.ts). A generation that breaks (broker
 * gone, heartbeats stalled) ends; the supervisor in subscription.ts starts the next.
 */
import { ConnectionPool, Consumer, ListOffsetTimestamps, findErrorBy, type GroupAssignment } from "@platformatic/kafka";
import { backoffMs, type BatchHandler } from "../bus.ts";
import { ConsumerClosingError, deliverBatch, type WireRecord } from "../bus-delivery.ts";
import type { Topic } from "../schemas.ts";
import { OffsetCommits } from "./commits.ts";
import type { DeadLetterWriter } from "./dead-letters.ts";
import { FETCH_MAX_BYTES, type KafkaSettings } from "./options.ts";
import { decodeRecords, fetchFrom, type FetchedRecord, type FetchResponse } from "./records.ts";
import { byLeader } from "./topics.ts";
import { Latch, Signal, withTimeout } from "./timers.ts";

/** What a member needs from its bus. */
export type MemberContext = Readonly<KafkaSettings> & { deadLetter: DeadLetterWriter };

/** What a member shares with the generations before and after it (the subscription). */
export interface MemberOwner {
  readonly stopping: boolean;
  /** Resolves when the subscription is closed. */
  readonly stopped: Promise<void>;
  /** Per partition, the offset after the last message this subscription handled (committed or not). */
  readonly processed: Map<number, bigint>;
  /** The member id to rejoin under (see KafkaSubscription), or null for a new member. */
  lastMemberId: string | null;
  markJoined(): void;
}

/** One assigned partition: where to fetch next, and what was fetched but not handed over. */
class PartitionState {
  position: bigint | undefined = undefined;
  queue: FetchedRecord[] = [];
}

export class MemberGeneration<T extends Topic> {
  readonly #ctx: MemberContext;
  readonly #owner: MemberOwner;
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
  #consumer: Consumer | undefined;
  #pool: ConnectionPool | undefined;
  #commits: OffsetCommits | undefined;
  #failure: unknown;
  #warned = 0;
  /** Set once the member joined its group: the next failure starts the reconnect backoff afresh. */
  wasHealthy = false;

  constructor(
    ctx: MemberContext,
    owner: MemberOwner,
    topic: T,
    group: string,
    handler: BatchHandler<T>,
    opts: { batchSize: number; maxWaitMs: number },
  ) {
    this.#ctx = ctx;
    this.#owner = owner;
    this.#topic = topic;
    this.#wireTopic = ctx.wire(topic);
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
    const commits = new OffsetCommits(
      consumer,
      this.#wireTopic,
      (p) => this.#parts.has(p),
      (err, msg) => this.#warn(err, msg),
    );
    this.#commits = commits;
    // Fetches long-poll; they get their own connections so heartbeats and commits never queue behind one.
    const pool = new ConnectionPool(`${ctx.clientId}-${this.#group}-fetch`, { connectTimeout: 5_000, requestTimeout: 15_000 });
    this.#pool = pool;
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
      if (!failed) await commits.finish();
      this.#owner.lastMemberId = failed && !this.#owner.stopping ? consumer.memberId : null;
      await withTimeout(pool.close(), 5_000, "closing fetch connections").catch(() => undefined);
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
        this.#commits!.forget(p);
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
        this.#commits!.mark(p, handled);
      }
      st.position = position;
    }
    if (this.#commits!.pending > 0) await this.#commits!.flush();
  }

  async #fetchOnce(wanted: [number, PartitionState][]): Promise<void> {
    const consumer = this.#consumer!;
    const metadata = await consumer.metadata({ topics: [this.#wireTopic] });
    const topic = metadata.topics.get(this.#wireTopic);
    if (!topic) throw new Error(`topic ${this.#wireTopic} is missing from the metadata`);
    const positioned: [number, PartitionState, bigint][] = [];
    for (const [p, st] of wanted) if (st.position !== undefined) positioned.push([p, st, st.position]);
    const { byNode } = byLeader(topic, positioned, ([p]) => p);
    if (byNode.size === 0) {
      consumer.clearMetadata();
      throw new Error(`no leader known for ${this.#wireTopic}`);
    }
    await Promise.all(
      [...byNode].map(async ([node, items]) => {
        const positions = items.map(([partition, , offset]) => [partition, offset] as const);
        const response = await fetchFrom(consumer, node, topic.id, positions, { maxWaitTime: this.#ctx.fetchMaxWaitMs, connectionPool: this.#pool! });
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
        const { records, next } = decodeRecords(part, requested);
        for (const record of records) st.queue.push(record);
        st.position = next;
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
        this.#ctx.log?.warn(
          { topic: this.#topic, group: this.#group, partition: p, from: String(st.position), to: String(lo) },
          "kafka offset out of range; resetting to the earliest",
        );
        st.position = lo;
      }
    }
  }

  async #processLoop(): Promise<void> {
    const commits = this.#commits!;
    let turn = 0;
    while (this.#active) {
      const ready = [...this.#parts].filter(([, st]) => st.queue.length > 0);
      if (ready.length === 0) {
        if (commits.pending > 0) await commits.flush();
        await this.#signal.wait(commits.pending > 0 ? 1_000 : 5_000);
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
            this.#ctx.log?.warn(
              { err, topic: this.#topic, group: this.#group, partition: p, size },
              "a batch failed; delivering its messages one at a time",
            ),
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
        commits.mark(p, end);
        // Committed in the background while the next batch runs (see OffsetCommits).
        void commits.flush();
      }
    }
  }
}
