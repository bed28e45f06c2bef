/**
 * Every call to Telegram goes through `callTelegram`, which owns FloodWait. Telegram's answer names
 * the seconds to wait; a wait up to the cap (TGLENS_FLOOD_WAIT_MAX) is reported on the job and
 * slept in place — exactly those seconds plus a small margin, then the same call is made again;
 * a longer one throws ParkJob, and the caller parks the job until then. There is no retry without
 * a sleep, so a FloodWait can never turn into a hot loop. Time comes from an injected Clock, so
 * tests run an hour of FloodWait in no time.
 */
import { setTimeout as sleepMs } from "node:timers/promises";
import { floodWaitSeconds } from "./client.ts";

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms`; rejects with the signal's reason when it is aborted first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => sleepMs(Math.max(0, ms), undefined, signal ? { signal } : {}),
};

/** Added to every FloodWait: Telegram counts whole seconds, and waking early earns another wait. */
export const FLOOD_WAIT_MARGIN_MS = 1000;

/** Thrown when Telegram asks for a wait longer than the cap: the job is parked until `resumeAt`. */
export class ParkJob extends Error {
  readonly seconds: number;
  /** Milliseconds since the epoch. */
  readonly resumeAt: number;

  constructor(seconds: number, resumeAt: number, doing: string) {
    super(`Telegram asked to wait ${seconds} s while ${doing}`);
    this.name = "ParkJob";
    this.seconds = seconds;
    this.resumeAt = resumeAt;
  }
}

export interface FloodWaitPolicy {
  /** Longest wait slept in place (seconds). */
  maxSeconds: number;
  clock: Clock;
  signal?: AbortSignal;
  /** Called before sleeping, with the wait and when it ends (ms since the epoch). */
  onWait(seconds: number, resumeAt: number, doing: string): Promise<void>;
  /** Called after the sleep, before the call is made again. */
  onResume(): Promise<void>;
}

export async function callTelegram<T>(doing: string, call: () => Promise<T>, policy: FloodWaitPolicy): Promise<T> {
  for (;;) {
    try {
      return await call();
    } catch (err) {
      const seconds = floodWaitSeconds(err);
      if (seconds === undefined) throw err;
      const resumeAt = policy.clock.now() + seconds * 1000 + FLOOD_WAIT_MARGIN_MS;
      if (seconds > policy.maxSeconds) throw new ParkJob(seconds, resumeAt, doing);
      await policy.onWait(seconds, resumeAt, doing);
      await policy.clock.sleep(seconds * 1000 + FLOOD_WAIT_MARGIN_MS, policy.signal);
      await policy.onResume();
    }
  }
}
