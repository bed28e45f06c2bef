/**
 * The hand-made hostile inputs of `npm run fuzz`, one per finding of issue 9 that schemathesis
 * would not reliably make up: NUL bytes in queries, bodiless POSTs, a 100k-character query,
 * compressed bodies, negative and repeated message ids, a date JavaScript cannot hold, a chat id
 * that is not a number, a stranger's Origin/Host, writes without a JSON Content-Type, and a
 * legitimate forget that must leave no byte of the chat behind.
 *
 * Each case says which chats it may change; run.ts snapshots the data around it and fails any
 * other change. `setup` runs before the first snapshot (e.g. importing the chat an attack aims at).
 * A case returns its problems in words; 5xx, missing answers and error bodies in another shape
 * are checked on every exchange by run.ts, not here.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { brotliCompressSync, deflateSync, gzipSync } from "node:zlib";
import type { ServiceName } from "../../services/common/config.ts";
import { axis, embeddedRecord } from "../../test/helpers/records.ts";
import { json, type Exchange } from "./exchange.ts";

export interface CaseContext {
  send(service: ServiceName, method: string, target: string, opts?: { headers?: Record<string, string>; body?: Buffer | string }): Promise<Exchange>;
  /** Waits for a job to end; a problem in words if it does not, or does not end `done`. */
  waitJob(jobId: string): Promise<{ job: any; problem?: string }>;
  dataDir: string;
  demoChatId: string;
}

export interface Case {
  name: string;
  /** Chats the case may legitimately change (after setup). */
  mayChange: string[];
  setup?(ctx: CaseContext): Promise<string[]>;
  run(ctx: CaseContext): Promise<string[]>;
}

const JSON_CT = { "content-type": "application/json" };

interface Msg {
  id: number;
  text: string;
  date_unixtime?: string;
}

/** A one-chat Telegram Desktop export. */
export function exportOf(id: number | string, name: string, messages: Msg[]): string {
  return JSON.stringify({
    name,
    type: "private_group",
    id,
    messages: messages.map((m, i) => ({
      id: m.id,
      type: "message",
      date: new Date((1_704_740_709 + i * 60) * 1000).toISOString().slice(0, 19),
      date_unixtime: m.date_unixtime ?? String(1_704_740_709 + i * 60),
      from: "Fuzz Tester",
      from_id: "user4242",
      text: m.text,
      text_entities: [{ type: "plain", text: m.text }],
    })),
  });
}

/** A POST /store body: one embedded message (the vector is a unit vector, as the embedder makes). */
export function storeBody(chatId: string, overrides: Record<string, unknown> = {}): string {
  const message = embeddedRecord(chatId, 1, axis(0), {
    job_id: "fuzz",
    chat: { id: chatId, name: "Fuzz store", type: "private_group" },
    date: 1_704_740_709,
    sender: { id: "user4242", name: "Fuzz Tester" },
    text: `stored directly ${chatId}`,
  });
  return JSON.stringify({ messages: [{ ...message, ...overrides }] });
}

const describe = (ex: Exchange) =>
  `${ex.method} ${ex.target.length > 80 ? `${ex.target.slice(0, 80)}…` : ex.target} → ${ex.status || ex.error} ${ex.response.slice(0, 200)}`;

/** A problem unless the status is one of `allowed`; 5xx and no answer are reported by run.ts for every exchange. */
function expectStatus(ex: Exchange, allowed: number[], what: string): string[] {
  if (allowed.includes(ex.status) || ex.status === 0 || ex.status >= 500) return [];
  return [`${what}: expected ${allowed.join(" or ")}, got ${describe(ex)}`];
}

async function chatMessages(ctx: CaseContext, chatId: string): Promise<number | undefined> {
  const ex = await ctx.send("telegram-bot", "GET", `/api/chats/${chatId}`);
  return ex.status === 200 ? json(ex)?.messages : undefined;
}

async function keyword(ctx: CaseContext, chatId: string, word: string): Promise<number[] | string> {
  const ex = await ctx.send("telegram-bot", "GET", `/api/search?${new URLSearchParams({ q: word, mode: "keyword", chat: chatId, k: "10" })}`);
  if (ex.status !== 200) return `keyword search for ${word}: ${describe(ex)}`;
  return (json(ex)?.results ?? []).map((r: { message_id: number }) => r.message_id);
}

/** Imports an export through POST /api/scrape and waits for its job; problems in words. */
async function importExport(
  ctx: CaseContext,
  body: string | Buffer,
  headers: Record<string, string> = JSON_CT,
): Promise<{ ex: Exchange; job?: any; problems: string[] }> {
  const ex = await ctx.send("telegram-bot", "POST", "/api/scrape", { headers, body });
  if (ex.status !== 202) return { ex, problems: [] };
  const { job, problem } = await ctx.waitJob(json(ex).job_id);
  return { ex, job, problems: problem ? [problem] : [] };
}

const CHAT = {
  gzip: 7_100_000_001,
  br: 7_100_000_002,
  storeGzip: "7100000003",
  negative: 7_100_000_004,
  duplicate: 7_100_000_005,
  farDate: 7_100_000_006,
  evilImport: 7_100_000_007,
  victim: 7_100_000_008,
  noCt: 7_100_000_009,
  forget: 7_100_000_010,
  storeFarDate: "7100000011",
  storeNoCt: "7100000012",
};

const three = (tag: string): Msg[] => [
  { id: 1, text: `first ${tag} message about bicycles` },
  { id: 2, text: `second ${tag} message about coffee` },
  { id: 3, text: `third ${tag} message about trains` },
];

export const CASES: Case[] = [
  {
    name: "NUL byte in a keyword, hybrid and semantic query",
    mayChange: [],
    async run(ctx) {
      const problems: string[] = [];
      for (const q of ["caf\0e", "\0", "bike\0 OR coffee"]) {
        for (const mode of ["keyword", "hybrid", "semantic"]) {
          const query = new URLSearchParams({ q, mode }).toString();
          for (const [service, route] of [
            ["telegram-bot", "/api/search"],
            ["storage", "/search"],
          ] as const) {
            problems.push(...expectStatus(await ctx.send(service, "GET", `${route}?${query}`), [200, 400], `${service} ${mode} query with NUL`));
          }
        }
      }
      return problems;
    },
  },
  {
    name: "POST with no body",
    mayChange: [],
    async run(ctx) {
      const problems: string[] = [];
      const routes: [ServiceName, string][] = [
        ["telegram-bot", "/api/scrape"],
        ["scraper", "/scrape"],
        ["storage", "/store"],
        ["embedder", "/embed"],
        ["preprocessor", "/preprocess"],
      ];
      for (const [service, route] of routes) {
        for (const headers of [{}, JSON_CT, { ...JSON_CT, "content-length": "0" }]) {
          problems.push(
            ...expectStatus(
              await ctx.send(service, "POST", route, { headers }),
              [400, 411, 415],
              `${service} POST ${route} without a body (${JSON.stringify(headers)})`,
            ),
          );
        }
      }
      return problems;
    },
  },
  {
    name: "100k-character query",
    mayChange: [],
    async run(ctx) {
      const q = "a".repeat(100_000);
      const problems: string[] = [];
      for (const [service, route] of [
        ["telegram-bot", "/api/search"],
        ["storage", "/search"],
      ] as const) {
        const ex = await ctx.send(service, "GET", `${route}?q=${q}`);
        problems.push(...expectStatus(ex, [400, 414, 431], `${service} ${route} with a 100k-character q`));
      }
      return problems;
    },
  },
  {
    name: "gzip, br and deflate bodies: decoded or 415, never misread",
    mayChange: [String(CHAT.gzip), String(CHAT.br), CHAT.storeGzip],
    async run(ctx) {
      const problems: string[] = [];
      // An import: 415, or 202 and exactly the export's three messages.
      for (const [chat, service, route, encoding, pack] of [
        [CHAT.gzip, "telegram-bot", "/api/scrape", "gzip", gzipSync],
        [CHAT.br, "scraper", "/scrape", "br", brotliCompressSync],
      ] as const) {
        const ex = await ctx.send(service, "POST", route, {
          headers: { ...JSON_CT, "content-encoding": encoding },
          body: pack(exportOf(chat, `Compressed ${encoding}`, three(encoding))),
        });
        if (ex.status === 202) {
          const { problem } = await ctx.waitJob(json(ex).job_id);
          if (problem) problems.push(`${encoding} import: ${problem}`);
          const n = await chatMessages(ctx, String(chat));
          if (n !== 3) problems.push(`${encoding} import to ${route} answered 202 but the chat has ${n ?? "no"} messages, not 3`);
        } else if (ex.status !== 415) {
          problems.push(`${encoding} body to ${service} ${route} misread: expected 202 (decoded) or 415, got ${describe(ex)}`);
        }
      }
      // Pure routes: 415, or the same answer as the plain body.
      for (const [service, route, body, encoding, pack] of [
        ["embedder", "/embed", JSON.stringify({ texts: ["hello compressed world"] }), "br", brotliCompressSync],
        ["preprocessor", "/preprocess", JSON.stringify({ texts: ["Hello https://example.com world 🎉"] }), "gzip", gzipSync],
        ["embedder", "/embed", JSON.stringify({ texts: ["hello deflated world"] }), "deflate", deflateSync],
      ] as const) {
        const plain = await ctx.send(service, "POST", route, { headers: JSON_CT, body });
        const packed = await ctx.send(service, "POST", route, { headers: { ...JSON_CT, "content-encoding": encoding }, body: pack(body) });
        if (packed.status === 200) {
          if (JSON.stringify(json(packed)) !== JSON.stringify(json(plain)))
            problems.push(`${encoding} body to ${route} answered 200 but not as the plain body did`);
        } else if (packed.status !== 415) {
          problems.push(`${encoding} body to ${service} ${route} misread: expected 200 (decoded) or 415, got ${describe(packed)}`);
        }
      }
      const unknown = await ctx.send("embedder", "POST", "/embed", {
        headers: { ...JSON_CT, "content-encoding": "x-fuzz" },
        body: JSON.stringify({ texts: ["x"] }),
      });
      problems.push(...expectStatus(unknown, [415], "Content-Encoding: x-fuzz to /embed"));
      const store = await ctx.send("storage", "POST", "/store", {
        headers: { ...JSON_CT, "content-encoding": "gzip" },
        body: gzipSync(storeBody(CHAT.storeGzip)),
      });
      if (store.status === 200) {
        const n = await chatMessages(ctx, CHAT.storeGzip);
        if (n !== 1) problems.push(`gzip POST /store answered 200 but the chat has ${n ?? "no"} messages, not 1`);
      } else if (store.status !== 415) {
        problems.push(`gzip body to storage /store misread: expected 200 (decoded) or 415, got ${describe(store)}`);
      }
      return problems;
    },
  },
  {
    name: "negative message ids are stored and found",
    mayChange: [String(CHAT.negative)],
    async run(ctx) {
      const msgs: Msg[] = [-3, -2, -1, 1, 2].map((id) => ({
        id,
        text: `migrated message number ${id < 0 ? `minus${-id}` : `plus${id}`} wordneg${id < 0 ? "m" : "p"}${Math.abs(id)}`,
      }));
      const { ex, job, problems } = await importExport(ctx, exportOf(CHAT.negative, "Migrated supergroup", msgs));
      if (ex.status !== 202) return [`import with negative ids: expected 202, got ${describe(ex)}`];
      if (job && (job.state !== "done" || job.counters?.stored !== 5))
        problems.push(`import with negative ids ended ${job.state}, stored ${job.counters?.stored} of 5, error ${JSON.stringify(job.error)}`);
      const n = await chatMessages(ctx, String(CHAT.negative));
      if (n !== 5) problems.push(`chat with negative ids has ${n ?? "no"} messages, not 5`);
      const hits = await keyword(ctx, String(CHAT.negative), "wordnegm2");
      if (typeof hits === "string") problems.push(hits);
      else if (!hits.includes(-2)) problems.push(`keyword search for message -2 found ${JSON.stringify(hits)}`);
      return problems;
    },
  },
  {
    name: "duplicate message ids: the job ends, the last version wins",
    mayChange: [String(CHAT.duplicate)],
    async run(ctx) {
      const msgs: Msg[] = [
        { id: 1, text: "first version zebra" },
        { id: 2, text: "another message beta" },
        { id: 1, text: "second version yak" },
      ];
      const { ex, job, problems } = await importExport(ctx, exportOf(CHAT.duplicate, "Duplicates", msgs));
      if (ex.status !== 202) return [`import with a repeated id: expected 202, got ${describe(ex)}`];
      if (job && job.state !== "done")
        problems.push(`import with a repeated id ended ${job.state}: ${JSON.stringify(job.counters)} ${JSON.stringify(job.error)}`);
      const n = await chatMessages(ctx, String(CHAT.duplicate));
      if (n !== 2) problems.push(`chat with a repeated id has ${n ?? "no"} messages, not 2`);
      const last = await keyword(ctx, String(CHAT.duplicate), "yak");
      const first = await keyword(ctx, String(CHAT.duplicate), "zebra");
      if (typeof last === "string" || typeof first === "string") problems.push(String(typeof last === "string" ? last : first));
      else if (!last.includes(1) || first.length > 0)
        problems.push(`the last version should win: "yak" found ${JSON.stringify(last)}, "zebra" found ${JSON.stringify(first)}`);
      return problems;
    },
  },
  {
    name: "date_unixtime 8640000000001 refused up front",
    mayChange: [],
    async run(ctx) {
      const problems: string[] = [];
      const body = exportOf(CHAT.farDate, "Far future", [
        { id: 1, text: "a normal message" },
        { id: 2, text: "a message from the far future", date_unixtime: "8640000000001" },
      ]);
      const { ex, problems: jobProblems } = await importExport(ctx, body);
      problems.push(...jobProblems, ...expectStatus(ex, [400, 422], "export with date_unixtime 8640000000001"));
      if (ex.status >= 400 && !/\b2\b/.test(json(ex)?.error?.message ?? ""))
        problems.push(`the refusal should name message 2: ${ex.response.slice(0, 200)}`);
      const store = await ctx.send("storage", "POST", "/store", {
        headers: JSON_CT,
        body: storeBody(CHAT.storeFarDate, { date: 8_640_000_000_001 }),
      });
      problems.push(...expectStatus(store, [400], "POST /store with date 8640000000001"));
      problems.push(...expectStatus(await ctx.send("telegram-bot", "GET", "/api/chats"), [200], "GET /api/chats afterwards"));
      problems.push(...expectStatus(await ctx.send("telegram-bot", "GET", "/api/search?q=future&mode=hybrid"), [200], "a search afterwards"));
      return problems;
    },
  },
  {
    name: 'chat id "notanumber" refused before anything is written',
    mayChange: [],
    async run(ctx) {
      const problems: string[] = [];
      problems.push(
        ...expectStatus(
          await ctx.send("storage", "POST", "/store", { headers: JSON_CT, body: storeBody("notanumber") }),
          [400],
          'POST /store with chat id "notanumber"',
        ),
      );
      const { ex, problems: jobProblems } = await importExport(ctx, exportOf("notanumber", "Not a number", three("nan")));
      problems.push(...jobProblems, ...expectStatus(ex, [400, 422], 'export with chat id "notanumber"'));
      problems.push(...expectStatus(await ctx.send("storage", "DELETE", "/chats/notanumber"), [400, 404], "DELETE /chats/notanumber"));
      return problems;
    },
  },
  {
    name: "a stranger's Origin and Host cannot import, delete or read",
    mayChange: [],
    async setup(ctx) {
      const { ex, problems } = await importExport(ctx, exportOf(CHAT.victim, "Victim", three("victim")));
      if (ex.status !== 202 || problems.length) throw new Error(`could not import the victim chat: ${describe(ex)} ${problems.join("; ")}`);
      return [String(CHAT.victim)];
    },
    async run(ctx) {
      const problems: string[] = [];
      const body = exportOf(CHAT.evilImport, "Planted by a page", three("evil"));
      const evil = { origin: "http://evil.example", host: "evil.example" };
      const variants: [string, Record<string, string>][] = [
        ["Origin and Host evil.example", { ...evil, ...JSON_CT }],
        ["Origin evil.example", { origin: evil.origin, ...JSON_CT }],
        ["Host evil.example", { host: evil.host, ...JSON_CT }],
        ["Origin and Host evil.example, no Content-Type", evil],
        ["Origin evil.example, text/plain", { origin: evil.origin, "content-type": "text/plain" }],
      ];
      for (const [what, headers] of variants) {
        const { ex, problems: jobProblems } = await importExport(ctx, body, headers);
        problems.push(...jobProblems, ...expectStatus(ex, [403, 415], `import with ${what}`));
        const del = await ctx.send("telegram-bot", "DELETE", `/api/chats/${CHAT.victim}`, {
          headers: Object.fromEntries(Object.entries(headers).filter(([k]) => k !== "content-type")),
        });
        problems.push(...expectStatus(del, [403], `DELETE with ${what}`));
      }
      problems.push(
        ...expectStatus(
          await ctx.send("telegram-bot", "GET", "/api/chats", { headers: { host: evil.host } }),
          [403],
          "GET /api/chats with Host evil.example (DNS rebinding)",
        ),
      );
      problems.push(
        ...expectStatus(
          await ctx.send("telegram-bot", "GET", "/api/search?q=victim&mode=keyword", { headers: { host: evil.host } }),
          [403],
          "GET /api/search with Host evil.example",
        ),
      );
      return problems;
    },
  },
  {
    name: "writes without a JSON Content-Type are refused",
    mayChange: [],
    async run(ctx) {
      const problems: string[] = [];
      const body = exportOf(CHAT.noCt, "No content type", three("noct"));
      for (const [service, route] of [
        ["telegram-bot", "/api/scrape"],
        ["scraper", "/scrape"],
      ] as const) {
        for (const headers of [{}, { "content-type": "text/plain" }, { "content-type": "application/x-www-form-urlencoded" }] as Record<
          string,
          string
        >[]) {
          const ex = await ctx.send(service, "POST", route, { headers, body });
          if (ex.status === 202) await ctx.waitJob(json(ex).job_id);
          problems.push(...expectStatus(ex, [415], `${service} POST ${route} with ${JSON.stringify(headers)}`));
        }
      }
      for (const headers of [{}, { "content-type": "text/plain" }] as Record<string, string>[]) {
        problems.push(
          ...expectStatus(
            await ctx.send("storage", "POST", "/store", { headers, body: storeBody(CHAT.storeNoCt) }),
            [415],
            `storage POST /store with ${JSON.stringify(headers)}`,
          ),
        );
      }
      return problems;
    },
  },
  {
    name: "a legitimate forget removes the chat and every byte of its text",
    mayChange: [String(CHAT.forget)],
    async setup(ctx) {
      const { ex, problems } = await importExport(
        ctx,
        exportOf(CHAT.forget, "To forget", [{ id: 1, text: `secret ${FORGET_MARKER} words` }, ...three("forget").slice(1)]),
      );
      if (ex.status !== 202 || problems.length) throw new Error(`could not import the chat to forget: ${describe(ex)} ${problems.join("; ")}`);
      return [String(CHAT.forget)];
    },
    async run(ctx) {
      const problems = expectStatus(await ctx.send("telegram-bot", "DELETE", `/api/chats/${CHAT.forget}`), [200], "DELETE /api/chats/<id>");
      problems.push(...expectStatus(await ctx.send("telegram-bot", "GET", `/api/chats/${CHAT.forget}`), [404], "GET the forgotten chat"));
      for (const file of await filesContaining(ctx.dataDir, Buffer.from(FORGET_MARKER)))
        problems.push(`the forgotten chat's text is still in ${file}`);
      return problems;
    },
  },
];

/** A word only the chat to forget contains. */
const FORGET_MARKER = `forgetmarker${randomBytes(6).toString("hex")}`;

async function filesContaining(root: string, needle: Buffer): Promise<string[]> {
  const hits: string[] = [];
  for (const entry of await fs.readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const p = path.join(entry.parentPath, entry.name);
    const bytes = await fs.readFile(p).catch(() => undefined);
    if (bytes?.includes(needle)) hits.push(path.relative(root, p));
  }
  return hits;
}
