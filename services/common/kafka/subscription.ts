/**
 * One subscribe() call on the Kafka bus: a member of `group` on one topic (the group protocol splits
 * the partitions among a group's members, across processes), and the supervisor that keeps it
 * alive. It runs generations of a member (member.ts): when one breaks (the broker went away long
 * enough for the session to stall, a rejoin failed), it is closed and a new one joins after a
 * backoff, resuming from the committed offsets or from what this subscription had handled itself.
 * Generations never overlap, so a partition is never handled by two loops of one subscription.
 */
import { backoffMs, type BatchHandler, type SubscribeOptions, type Subscription } from "../bus.ts";
import type { Topic } from "../schemas.ts";
import { MemberGeneration, type MemberContext, type MemberOwner } from "./member.ts";
import { Latch } from "./timers.ts";

export class KafkaSubscription<T extends Topic> implements Subscription, MemberOwner {
  readonly #ctx: MemberContext;
  readonly #topic: T;
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

  constructor(ctx: MemberContext, topic: T, group: string, handler: BatchHandler<T>, opts: SubscribeOptions) {
    this.#ctx = ctx;
    this.#topic = topic;
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
      const generation = new MemberGeneration(this.#ctx, this, this.#topic, this.#group, this.#handler, {
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
