/**
 * Waiting, for the Kafka bus's loops: a plain sleep, a deadline on a promise, a wake-up signal for a
 * loop that waits for work, and a one-shot latch that cuts sleeps short (stopping, a dead member).
 * Every timer here is cleared when its wait ends, so a closed bus leaves no timer behind.
 */

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resolves with p, or rejects after ms (p keeps running). */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** A wake-up for loops: wait() resolves at the next notify() or after ms, whichever comes first. */
export class Signal {
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
export class Latch {
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
    return Promise.race([new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))), this.promise]).finally(() => clearTimeout(timer));
  }
}
