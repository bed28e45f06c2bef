/**
 * Offset commits of one group member, kept apart from the loops that handle messages: the offsets
 * handled but not yet committed, per partition, and one commit in flight at a time, always of the
 * newest handled offsets, so commits only ever move forward. A failed commit stays queued for the
 * next try; committing never throws into a consume loop.
 */
import type { Consumer } from "@platformatic/kafka";

export class OffsetCommits {
  readonly #consumer: Consumer;
  readonly #wireTopic: string;
  /** Whether a partition is still this member's (a commit for one that moved on is dropped). */
  readonly #owns: (partition: number) => boolean;
  readonly #warn: (err: unknown, msg: string) => void;
  /** Offsets handled but not yet committed, per partition. */
  readonly #uncommitted = new Map<number, bigint>();
  #committing: Promise<void> | undefined;
  /** Offsets were handled while a commit was in flight: commit again when it is done. */
  #commitAgain = false;

  constructor(consumer: Consumer, wireTopic: string, owns: (partition: number) => boolean, warn: (err: unknown, msg: string) => void) {
    this.#consumer = consumer;
    this.#wireTopic = wireTopic;
    this.#owns = owns;
    this.#warn = warn;
  }

  /** How many partitions have handled offsets waiting for a commit. */
  get pending(): number {
    return this.#uncommitted.size;
  }

  /** Handled up to (not including) `offset` on `partition`. */
  mark(partition: number, offset: bigint): void {
    this.#uncommitted.set(partition, offset);
  }

  /** The partition moved to another member: nothing of it is committed from here any more. */
  forget(partition: number): void {
    this.#uncommitted.delete(partition);
  }

  /** Waits for the commit in flight, then commits what is left (closing). */
  async finish(): Promise<void> {
    if (this.#committing) await this.#committing;
    if (this.#uncommitted.size > 0) await this.flush();
  }

  /** Commits the handled offsets of partitions still ours; failures stay queued for the next try. Never rejects. */
  flush(): Promise<void> {
    if (this.#committing) {
      this.#commitAgain = true;
      return this.#committing;
    }
    const offsets = [];
    for (const [p, offset] of this.#uncommitted) {
      if (this.#owns(p)) offsets.push({ topic: this.#wireTopic, partition: p, offset, leaderEpoch: -1 });
      else this.#uncommitted.delete(p);
    }
    if (offsets.length === 0) return Promise.resolve();
    this.#committing = (async () => {
      try {
        await this.#consumer.commit({ offsets });
        for (const o of offsets) if (this.#uncommitted.get(o.partition) === o.offset) this.#uncommitted.delete(o.partition);
      } catch (err) {
        this.#warn(err, "kafka offset commit failed; will retry");
      } finally {
        this.#committing = undefined;
        if (this.#commitAgain) {
          this.#commitAgain = false;
          if (this.#uncommitted.size > 0) void this.flush();
        }
      }
    })();
    return this.#committing;
  }
}
