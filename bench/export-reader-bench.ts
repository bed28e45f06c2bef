/**
 * Read throughput of the export reader, against the library it is built on and the bounds around it, so the reader's
 * own cost can be told apart. What each mode runs: docs/performance.md ("Export reader bench").
 *
 *   bash scripts/with-node.sh bench/export-reader-bench.ts [file] [--runs N] [--mode M]
 *
 * Modes: reader (readExport, what tglens uses), read-only, sp-tokenizer, sp-parser, json-parse. Without --mode, each
 * mode runs in its own child process (so peak RSS is per mode), --runs times, and the best run is reported.
 *
 *   bash scripts/with-node.sh bench/export-reader-bench.ts [file] --repeat N
 *
 * streams a single-chat export N times the size of `file` through readExport, to show that peak RSS does not grow.
 */
import { spawnSync } from "node:child_process";
import { createReadStream, statSync } from "node:fs";
import { open, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { JSONParser, Tokenizer } from "@streamparser/json";
import { Readable } from "node:stream";
import { readExport, READ_CHUNK_BYTES } from "../services/scraper/export-reader.ts";

const MODES = ["reader", "read-only", "sp-tokenizer", "sp-parser", "json-parse"] as const;
type Mode = (typeof MODES)[number];

const args = process.argv.slice(2);
function flag(name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}
const file = args.find((a, i) => !a.startsWith("--") && !args[i - 1]?.startsWith("--")) ?? "/work/shared/data/ubuntu-irc-train.json";
const runs = Number(flag("--runs") ?? 3);
const mode = flag("--mode") as Mode | undefined;
const chunk = Number(flag("--chunk") ?? READ_CHUNK_BYTES);
const repeat = Number(flag("--repeat") ?? 0);

/** `file`'s bytes with the body of its messages array repeated `n` times (single-chat exports only). */
async function* repeated(n: number): AsyncGenerator<Buffer> {
  const size = statSync(file).size;
  const head = Buffer.alloc(Math.min(size, 64 * 1024));
  const tail = Buffer.alloc(Math.min(size, 64));
  const fh = await open(file);
  await fh.read(head, 0, head.length, 0);
  await fh.read(tail, 0, tail.length, size - tail.length);
  await fh.close();
  const m = /"messages"\s*:\s*\[/.exec(head.toString("latin1"));
  if (!m) throw new Error(`no "messages" array in the first 64 KiB of ${file}`);
  const first = m.index + m[0].length; // just after '['
  const last = size - tail.length + tail.lastIndexOf("]"); // the closing ']'
  yield head.subarray(0, first);
  for (let r = 0; r < n; r++) {
    if (r > 0) yield Buffer.from(",");
    for await (const c of createReadStream(file, { start: first, end: last - 1, highWaterMark: chunk })) yield c as Buffer;
  }
  yield Buffer.from("]}");
}

async function runMode(m: Mode): Promise<{ items: number; seconds: number; cpuSeconds: number }> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let items = 0;
  if (m === "reader") {
    for await (const item of readExport({ path: file }, { jobId: "bench" })) if (item.kind === "message") items++;
  } else if (m === "read-only") {
    for await (const c of createReadStream(file, { highWaterMark: chunk })) items += (c as Buffer).length > 0 ? 1 : 0;
  } else if (m === "sp-tokenizer") {
    const t = new Tokenizer();
    t.onToken = () => {
      items++;
    };
    for await (const c of createReadStream(file, { highWaterMark: chunk })) t.write(c as Buffer);
    t.end();
  } else if (m === "sp-parser") {
    const p = new JSONParser({ paths: ["$.messages.*"], keepStack: false });
    p.onValue = () => {
      items++;
    };
    for await (const c of createReadStream(file, { highWaterMark: chunk })) p.write(c as Buffer);
    // The parser ends itself after the top-level value; end() on an ended parser throws.
    if (!p.isEnded) p.end();
  } else {
    const doc = JSON.parse(await readFile(file, "utf8")) as { messages: unknown[] };
    items = doc.messages.length;
  }
  const c = process.cpuUsage(c0);
  return { items, seconds: (performance.now() - t0) / 1000, cpuSeconds: (c.user + c.system) / 1e6 };
}

if (repeat > 0) {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let n = 0;
  let bytes = 0;
  const stream = Readable.from(repeated(repeat), { objectMode: true });
  for await (const item of readExport({ stream }, { jobId: "bench", onBytes: (b) => (bytes = b) })) if (item.kind === "message") n++;
  const s = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  const cpu = (c.user + c.system) / 1e6;
  const rss = process.resourceUsage().maxRSS / 1024;
  console.log(
    `${repeat}x: ${(bytes / 1e6).toFixed(0)} MB, ${n} messages in ${s.toFixed(1)} s (CPU ${cpu.toFixed(1)} s): ` +
      `${(bytes / 1e6 / s).toFixed(1)} MB/s ` +
      `(CPU ${(bytes / 1e6 / cpu).toFixed(1)}), ${Math.round(n / s)} messages/s (CPU ${Math.round(n / cpu)}), peak RSS ${rss.toFixed(0)} MB`,
  );
} else if (mode) {
  const r = await runMode(mode);
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(JSON.stringify({ ...r, peakRssMb }) + "\n");
} else {
  const bytes = statSync(file).size;
  console.log(`${file}: ${(bytes / 1e6).toFixed(1)} MB, chunk ${chunk} B, best of ${runs} runs, node ${process.version}`);
  console.log("mode            items     MB/s  CPU MB/s   items/s  seconds  CPU s  peak RSS MB");
  const self = fileURLToPath(import.meta.url);
  for (const m of MODES) {
    let best: { items: number; seconds: number; cpuSeconds: number; peakRssMb: number } | undefined;
    for (let r = 0; r < runs; r++) {
      const child = spawnSync(process.execPath, [self, file, "--mode", m, "--chunk", String(chunk)], { encoding: "utf8" });
      if (child.status !== 0) throw new Error(`${m} failed: ${child.stderr}`);
      const res = JSON.parse(child.stdout.trim().split("\n").pop()!) as { items: number; seconds: number; cpuSeconds: number; peakRssMb: number };
      if (!best || res.seconds < best.seconds) best = res;
    }
    const b = best!;
    const mbs = (s: number): string => (bytes / 1e6 / s).toFixed(1).padStart(8);
    console.log(
      `${m.padEnd(13)} ${String(b.items).padStart(8)} ${mbs(b.seconds)} ${mbs(b.cpuSeconds)} ${Math.round(b.items / b.seconds)
        .toString()
        .padStart(9)} ${b.seconds.toFixed(2).padStart(8)} ${b.cpuSeconds.toFixed(2).padStart(6)} ${b.peakRssMb.toFixed(0).padStart(12)}`,
    );
  }
}
