/** The import progress bar: no made-up ETA, and a last line that agrees with the summary. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import cliProgress from "cli-progress";
import { barLine, importProgress } from "../../cli/progress.ts";
import type { JobStatus } from "../../services/common/jobs.ts";

/** A terminal that keeps what was drawn on it, escape sequences removed. */
function fakeTerminal(): { stream: NodeJS.WriteStream; lines: () => string[] } {
  let text = "";
  const stream = new Writable({
    write(chunk, _enc, done) {
      text += String(chunk);
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  Object.assign(stream, { isTTY: true, columns: 120 });
  const lines = () =>
    text
      // Terminal escape sequences are what this test reads past.
      // eslint-disable-next-line no-control-regex
      .replace(/\x1B(\[[0-9;?]*[A-Za-z]|[78])/g, "\n")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l.startsWith("importing"));
  return { stream, lines };
}

function job(counters: Partial<JobStatus["counters"]>, expected: number | null = null): JobStatus {
  return {
    job_id: "j",
    state: "running",
    source: "x",
    created_at: "",
    updated_at: "",
    finished_at: null,
    expected,
    counters: { scraped: 0, skipped: 0, cleaned: 0, dropped: 0, embedded: 0, stored: 0, failed: 0, replaced: 0, ...counters },
    chats: [],
    error: null,
    errors: [],
    resume_at: null,
    note: null,
  };
}

/** The options as the bar parses them. */
const OPTIONS = (new cliProgress.SingleBar({ barsize: 10 }) as unknown as { options: cliProgress.Options }).options;
const params = (value: number, total: number, eta: number | string) =>
  ({
    value,
    total,
    eta,
    progress: total === 0 ? 1 : value / total,
    startTime: Date.now(),
    stopTime: null,
    maxWidth: 120,
  }) as unknown as cliProgress.Params;

describe("import progress bar", () => {
  it("shows no ETA at 0%, when the rate is unknown (NULL, INF, NaN), at 100% or while the total is unknown", () => {
    for (const [value, total, eta, payload] of [
      [0, 390, 0, {}],
      [0, 390, "0", {}],
      [10, 390, "NULL", {}],
      [10, 390, "INF", {}],
      [10, 390, Number.NaN, {}],
      [10, 390, Number.POSITIVE_INFINITY, {}],
      [390, 390, 0, {}],
      [10, 20, 5, { totalKnown: false }],
    ] as const) {
      const line = barLine(OPTIONS, params(value, total, eta), payload);
      assert.doesNotMatch(line, /left|NULL|INF|NaN|Infinity/, `${value}/${total} eta ${String(eta)}: ${line}`);
      assert.match(line, new RegExp(`\\| ${value}/${total} messages$`));
    }
  });

  it("shows the ETA once there is a rate", () => {
    assert.match(barLine(OPTIONS, params(100, 390, 45), {}), /25% \| 100\/390 messages \| 45s left$/);
  });

  it("ends on the summary's numbers: settled messages of the summary's total, 100% when all are", () => {
    const t = fakeTerminal();
    const bar = importProgress(t.stream, 390, true);
    bar.update(job({ scraped: 100, stored: 60, dropped: 5 }, 390));
    // The last poll came before the last messages were stored; the summary has them.
    bar.finish(390, 390);
    const last = t.lines().at(-1)!;
    assert.match(last, /100% \| 390\/390 messages$/, last);
    assert.ok(
      t.lines().every((l) => !/left/.test(l) || /\d+s left/.test(l)),
      t.lines().join("\n"),
    );
  });

  it("counts a live read's messages against the messages read so far, and ends on the summary's", async () => {
    const t = fakeTerminal();
    const bar = importProgress(t.stream, null, true);
    await new Promise((resolve) => setTimeout(resolve, 300)); // past the bar's redraw throttle
    bar.update(job({ scraped: 50, stored: 20 }));
    bar.finish(118, 120);
    const lines = t.lines();
    assert.ok(
      lines.some((l) => / 20\/50 messages$/.test(l)),
      lines.join("\n"),
    );
    assert.match(lines.at(-1)!, /98% \| 118\/120 messages$/);
  });

  it("draws nothing when not on a terminal or when quiet", () => {
    const t = fakeTerminal();
    importProgress(t.stream, 10, false).finish(10, 10);
    const pipe = fakeTerminal();
    Object.assign(pipe.stream, { isTTY: false });
    importProgress(pipe.stream, 10, true).finish(10, 10);
    assert.deepEqual([t.lines(), pipe.lines()], [[], []]);
  });
});
