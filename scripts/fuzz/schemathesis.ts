/**
 * Runs schemathesis's CLI (`st run`, from .cache/fuzz-venv, see setup.py) against one OpenAPI
 * document and turns its HAR report into Exchanges, so every request it sent goes through the
 * same checks as the hand-made ones (exchange.ts). Its own output goes to a file next to the
 * report; what it could not send or check (the ERRORS section of that output) comes back as
 * errors. The HAR is read entry by entry: the coverage phase sends bodies of hundreds of MB (e.g.
 * 10,000 texts of the longest length allowed), more than one string can hold.
 */
import { spawn } from "node:child_process";
import { createReadStream, createWriteStream } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { JSONParser } from "@streamparser/json";
import type { ServiceName } from "../../services/common/config.ts";
import type { Exchange, Urls } from "./exchange.ts";

export interface StRun {
  /** Label of the run in the report (also the stem of its files). */
  name: string;
  /** An URL of /openapi.json, or a file. */
  location: string;
  /** Base URL, when location is a file. */
  baseUrl?: string;
  phases: string[];
  excludeMethods?: string[];
  maxExamples: number;
  seed: number;
}

export interface StResult {
  exitCode: number;
  exchanges: Exchange[];
  errors: string[];
  output: string;
  har: string;
}

const CHECKS = "not_a_server_error";

export const harFile = (run: StRun, reportDir: string) => path.join(reportDir, `${run.name}.har.json`);

export function stArgs(run: StRun, reportDir: string): string[] {
  const args = [
    "run",
    run.location,
    ...(run.baseUrl ? ["--url", run.baseUrl] : []),
    "--checks",
    CHECKS,
    "--phases",
    run.phases.join(","),
    "--max-examples",
    String(run.maxExamples),
    "--seed",
    String(run.seed),
    // Reproducible: no examples carried over from an earlier run.
    "--generation-database",
    "none",
    "--continue-on-failure",
    "--suppress-health-check",
    "all",
    "--request-timeout",
    "60",
    "--workers",
    "1",
    "--no-color",
    "--report",
    "har",
    "--report-har-path",
    harFile(run, reportDir),
  ];
  for (const m of run.excludeMethods ?? []) args.push("--exclude-method", m);
  return args;
}

interface HarEntry {
  request: { method: string; url: string; headers: { name: string; value: string }[]; postData?: { text?: string; encoding?: string } };
  response: { status: number; content?: { text?: string; encoding?: string } };
}

function decode(text: string | undefined, encoding: string | undefined): Buffer | undefined {
  if (text === undefined) return undefined;
  return encoding === "base64" ? Buffer.from(text, "base64") : Buffer.from(text, "utf8");
}

/** Bodies kept per exchange; larger ones (schemathesis sends some of hundreds of MB) are cut to this. */
export const MAX_KEPT_BODY = 4 * 1024 * 1024;

function cut(b: Buffer | undefined): Buffer | undefined {
  return b && b.length > MAX_KEPT_BODY ? b.subarray(0, MAX_KEPT_BODY) : b;
}

/** Reads a HAR file entry by entry (one can be larger than a string may be), into Exchanges. */
export async function harToExchanges(file: string, urls: Urls, phase: string): Promise<Exchange[]> {
  const byOrigin = new Map<string, ServiceName>(Object.entries(urls).map(([name, url]) => [new URL(url).origin, name as ServiceName]));
  const out: Exchange[] = [];
  const parser = new JSONParser({ paths: ["$.log.entries.*"], keepStack: false, stringBufferSize: 64 * 1024 });
  parser.onValue = ({ value }) => {
    const e = value as unknown as HarEntry;
    const url = new URL(e.request.url);
    const service = byOrigin.get(url.origin);
    if (!service) return;
    const body = cut(decode(e.request.postData?.text, e.request.postData?.encoding));
    out.push({
      phase,
      service,
      method: e.request.method,
      target: e.request.url.slice(url.origin.length) || "/",
      headers: Object.fromEntries(e.request.headers.map((h) => [h.name, h.value])),
      ...(body && body.length > 0 ? { body } : {}),
      status: e.response.status,
      response: cut(decode(e.response.content?.text, e.response.content?.encoding))?.toString("utf8") ?? "",
    });
  };
  for await (const chunk of createReadStream(file)) parser.write(chunk as Buffer);
  if (!parser.isEnded) parser.end();
  return out;
}

/** The ERRORS section of schemathesis's output (what it could not send or check), if any. */
function errorsOf(output: string): string[] {
  const start = output.indexOf("= ERRORS =");
  if (start < 0) return [];
  const rest = output.slice(output.indexOf("\n", start) + 1);
  const end = rest.search(/^=+ [A-Z]/m);
  return [(end < 0 ? rest : rest.slice(0, end)).trim().split("\n").slice(0, 30).join("\n")];
}

export async function runSchemathesis(st: string, run: StRun, urls: Urls, phase: string, reportDir: string): Promise<StResult> {
  const outputFile = path.join(reportDir, `${run.name}.st.txt`);
  const out = createWriteStream(outputFile);
  const exitCode = await new Promise<number>((resolve, reject) => {
    const child = spawn(st, stArgs(run, reportDir), { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1", COLUMNS: "120" } });
    child.stdout.pipe(out, { end: false });
    child.stderr.pipe(out, { end: false });
    child.on("error", reject);
    child.on("close", (code) => resolve(code ?? 1));
  });
  await new Promise<void>((resolve) => out.end(resolve));

  const errors = errorsOf(await fs.readFile(outputFile, "utf8"));
  let exchanges: Exchange[] = [];
  const har = harFile(run, reportDir);
  try {
    exchanges = await harToExchanges(har, urls, phase);
  } catch (err) {
    errors.push(`no HAR report from schemathesis (${(err as Error).message})`);
  }
  return { exitCode, exchanges, errors, output: outputFile, har };
}
