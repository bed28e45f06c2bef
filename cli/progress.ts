/**
 * The import progress bar (stderr, terminals only). It counts messages settled — indexed, empty
 * after cleaning or failed — so its last line shows the same numbers as the summary printed after
 * it. An ETA is shown only once there is a rate to base it on and a total that stops moving.
 */
import cliProgress, { type Options, type Params } from "cli-progress";
import type { JobStatus } from "../services/common/jobs.ts";

/** Messages past every stage: what the bar counts. */
export const settled = (job: JobStatus) => job.counters.stored + job.counters.dropped + job.counters.failed;

/** One line of the bar: no ETA at 0%, at 100%, at the end, while the total is unknown, or when it is not a number. */
export function barLine(options: Options, params: Params, payload: { totalKnown?: boolean; finished?: boolean }): string {
  const eta = Number(params.eta);
  const showEta =
    payload.totalKnown !== false && !payload.finished && params.value > 0 && params.value < params.total && Number.isFinite(eta) && eta > 0;
  const format = `importing [{bar}] {percentage}% | {value}/{total} messages${showEta ? " | {eta_formatted} left" : ""}`;
  return cliProgress.Format.Formatter({ ...options, format }, params, payload);
}

export interface ImportProgress {
  update(job: JobStatus): void;
  /** Draws the last line with the summary's numbers, and ends the bar. */
  finish(value: number, total: number): void;
}

/** A bar on `stream` when it is a terminal; `total` is the messages expected, or null while unknown (a live read). */
export function importProgress(stream: NodeJS.WriteStream, total: number | null, enabled: boolean): ImportProgress {
  if (!enabled || !stream.isTTY) return { update() {}, finish() {} };
  const bar = new cliProgress.SingleBar({ format: barLine, stream, hideCursor: true }, cliProgress.Presets.shades_classic);
  bar.start(Math.max(total ?? 1, 1), 0, { totalKnown: total !== null });
  return {
    update(job) {
      const expected = total ?? job.expected;
      if (total === null) bar.setTotal(Math.max(expected ?? job.counters.scraped, 1));
      bar.update(settled(job), { totalKnown: expected !== null });
    },
    finish(value, final) {
      bar.setTotal(final); // 0 of 0 shows as complete
      bar.update(value, { totalKnown: true, finished: true });
      bar.stop();
    },
  };
}
