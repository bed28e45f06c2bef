/**
 * Figures every bench reports the same way: percentiles, timers, memory.
 */
import { readFileSync } from "node:fs";

/**
 * Nearest-rank percentile: the value at index floor(p/100 × n) of the sorted values (clamped), the
 * rule every bench here has always used, so figures stay comparable across benches and runs.
 * Sorts a copy; `values` is left as it was.
 */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Runs `fn` and returns its result with the milliseconds it took. */
export function time<T>(fn: () => T): [T, number] {
  const t = performance.now();
  const r = fn();
  return [r, performance.now() - t];
}

export async function timeAsync<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const r = await fn();
  return [r, performance.now() - t];
}

/** Bytes as whole MiB, "123 MB" (the unit the benches print). */
export const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MB`;

/**
 * The most resident memory this process has ever had, in bytes: VmHWM from /proc/self/status, the
 * kernel's own high-water mark, so a short peak between two samples is not missed (a sampler
 * polling process.memoryUsage() can miss it). Elsewhere than Linux, getrusage's maxrss.
 */
export function peakRssBytes(): number {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync("/proc/self/status", "utf8"));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux: fall through
  }
  return process.resourceUsage().maxRSS * 1024;
}
