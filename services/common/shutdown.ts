/**
 * How a tglens process stops on SIGINT/SIGTERM: it runs its stop path, and whatever that path
 * waits on (a server that went away, a connection that never closes) the process is gone
 * SHUTDOWN_DEADLINE_MS after the signal, its log naming the stop steps still pending. A second
 * signal exits at once. Stop paths name their steps with `stopStep`.
 */
import { describeError } from "./errors.ts";
import type { Logger } from "./logger.ts";

export const SHUTDOWN_DEADLINE_MS = 10_000;
/** The part of the deadline kept for writing the last log lines. */
const FLUSH_MS = 500;

const pending = new Map<number, string>();
let nextStep = 0;

/** Runs one named step of a stop path; while it runs, its name is among `pendingStopSteps()`. */
export async function stopStep<T>(name: string, step: () => Promise<T>): Promise<T> {
  const id = nextStep++;
  pending.set(id, name);
  try {
    return await step();
  } finally {
    pending.delete(id);
  }
}

/** The stop steps of this process that have begun and not ended, oldest first. */
export function pendingStopSteps(): string[] {
  return [...pending.values()];
}

/** Writes what the logger holds, then exits (after FLUSH_MS at most, should the write hang). */
function exitAfterFlush(log: Logger, code: number): void {
  const fallback = setTimeout(() => process.exit(code), FLUSH_MS);
  log.flush(() => {
    clearTimeout(fallback);
    process.exit(code);
  });
}

/** On SIGINT or SIGTERM: `stop()`, then exit 0 (1 if it failed or did not end by the deadline). */
export function stopOnSignals(stop: () => Promise<void>, log: Logger, deadlineMs = SHUTDOWN_DEADLINE_MS): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal, pending: pendingStopSteps() }, "second signal during shutdown: exiting now");
      return exitAfterFlush(log, 1);
    }
    stopping = true;
    log.info({ signal }, "shutting down");
    setTimeout(
      () => {
        log.error(
          { deadline_ms: deadlineMs, pending: pendingStopSteps() },
          "shutdown did not finish in time; exiting with these steps still pending",
        );
        exitAfterFlush(log, 1);
      },
      Math.max(0, deadlineMs - FLUSH_MS),
    );
    stop().then(
      () => exitAfterFlush(log, 0),
      (err: unknown) => {
        log.error({ err: describeError(err) }, "shutdown failed");
        exitAfterFlush(log, 1);
      },
    );
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
}
