/**
 * Two lanes in front of one model, so a search never waits behind an import: query work goes
 * ahead of bulk work. Work comes as jobs cut into steps (one ONNX call, or tokenizing a slice of
 * texts); one step runs at a time, and between two steps the scheduler lets the event loop turn (in
 * the embedder, the model worker's: model-worker-thread.ts), so a query that arrives while a bulk
 * job runs waits for at most the step under way. Within a lane, jobs run in arrival order, each to
 * its end.
 */

export type Priority = "query" | "bulk";

export interface SteppedJob<T> {
  /** Does the next piece of work; resolves true when the job is complete. */
  step(): Promise<boolean>;
  /** The job's result, once step() said it is complete. */
  result(): T;
}

interface Entry {
  job: SteppedJob<unknown>;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

/**
 * One full turn of the event loop, poll phase included: a single setImmediate queued from the check
 * phase's own callbacks could run before the poll phase delivers what arrived meanwhile (an HTTP
 * request, a worker-thread message).
 */
const turn = () => new Promise<void>((resolve) => setImmediate(() => setImmediate(resolve)));

export class LaneScheduler {
  readonly #lanes: Record<Priority, Entry[]> = { query: [], bulk: [] };
  #loop: Promise<void> | undefined;

  /** Queues a job in a lane; resolves with its result when its last step is done. */
  run<T>(priority: Priority, job: SteppedJob<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#lanes[priority].push({ job, resolve: resolve as (v: unknown) => void, reject });
      this.#loop ??= this.#drain();
    });
  }

  /** Jobs queued or under way in a lane. */
  pending(priority: Priority): number {
    return this.#lanes[priority].length;
  }

  /** Resolves once both lanes are empty. */
  async idle(): Promise<void> {
    while (this.#loop) await this.#loop;
  }

  async #drain(): Promise<void> {
    try {
      for (;;) {
        const lane = this.#lanes.query.length > 0 ? this.#lanes.query : this.#lanes.bulk;
        const entry = lane[0];
        if (entry === undefined) return;
        try {
          if (await entry.job.step()) {
            lane.shift();
            entry.resolve(entry.job.result());
          }
        } catch (err) {
          lane.shift();
          entry.reject(err);
        }
        await turn();
      }
    } finally {
      this.#loop = undefined;
    }
  }
}
