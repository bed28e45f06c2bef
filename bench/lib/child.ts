/**
 * Child processes that answer with one JSON document on stdout. Benches run each measurement in
 * its own process so that its peak RSS is its own and one measurement's heap, threads or native
 * allocations cannot slow the next one.
 */
import { spawn } from "node:child_process";
import { basename } from "node:path";

export class ChildError extends Error {
  /** The child's last non-empty stderr line (or its exit status): a one-line reason. */
  readonly reason: string;
  constructor(message: string, reason: string) {
    super(message);
    this.reason = reason;
  }
}

export interface ChildOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Runs `cmd args`, forwarding its stderr (progress lines) to ours as it comes, and resolves with its
 * stdout. Rejects with a ChildError when it cannot start or exits non-zero.
 */
export function runChild(cmd: string, args: readonly string[], opts: ChildOptions = {}): Promise<string> {
  const name = basename(args.find((a) => /\.(ts|py)$/.test(a)) ?? cmd);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let tail: string[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => {
      process.stderr.write(b);
      tail = [...tail, ...b.toString("utf8").split("\n")].filter((l) => l.trim() !== "").slice(-20);
    });
    child.on("error", (err) => reject(new ChildError(`${name}: ${err.message}`, err.message)));
    child.on("close", (code, signal) => {
      if (code === 0) return resolve(Buffer.concat(out).toString("utf8"));
      const status = signal ? `killed by ${signal}` : `exited with status ${code}`;
      const reason = tail.at(-1)?.trim() ?? status;
      reject(new ChildError(`${name} ${status}: ${reason}`, `${status}: ${reason}`));
    });
  });
}

/**
 * The JSON document a child printed: all of stdout, or else its last top-level object (a child
 * whose libraries log to stdout before the result, as pino does at level warn).
 */
export function parseChildJson<T>(stdout: string): T {
  const text = stdout.trim();
  try {
    return JSON.parse(text) as T;
  } catch {
    // Try each line that opens an object, from the last one back.
    const starts = [...text.matchAll(/^\{/gm)].map((m) => m.index).reverse();
    for (const s of starts) {
      try {
        return JSON.parse(text.slice(s)) as T;
      } catch {
        // not this one
      }
    }
  }
  throw new Error(`no JSON result on stdout (${text.length} characters: ${JSON.stringify(text.slice(0, 200))})`);
}

/** Runs a child and parses its JSON result. */
export async function runJsonChild<T>(cmd: string, args: readonly string[], opts: ChildOptions = {}): Promise<T> {
  return parseChildJson<T>(await runChild(cmd, args, opts));
}

/** A TypeScript script run by the Node running this one (Node 24, type stripping). */
export function runNodeJson<T>(script: string, args: readonly string[], opts: ChildOptions = {}): Promise<T> {
  return runJsonChild<T>(process.execPath, [script, ...args], opts);
}
