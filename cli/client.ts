/**
 * The CLI's view of a running tglens: everything goes through the gateway's HTTP API, so a
 * running server sees what the CLI imports. Without a server, the CLI starts the embedded system
 * in its own process for the duration of the command and talks to that the same way.
 */
import { createReadStream } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import type { Config } from "../services/common/config.ts";
import { TglensError } from "../services/common/errors.ts";
import { bearer, callJson, readJsonResponse, type CallOptions } from "../services/common/http-client.ts";
import { isFinished, type JobStatus } from "../services/common/jobs.ts";
import { EXPORT_FILE_NAME } from "../services/scraper/export-reader.ts";
import type { ChatRef } from "../services/common/schemas.ts";
import type { Static } from "@sinclair/typebox";
import type { ChatStatsSchema, ChatSummarySchema, SearchResult } from "../services/storage/index.ts";

export interface ImportAccepted {
  job_id: string;
  chats: ChatRef[];
  messages: number;
  skipped: number;
  /** Earlier versions of message ids that repeat in the export (the last version is imported). */
  replaced?: number;
}

/** A live read accepted by POST /api/scrape {"chat"}: the chat as it will be read. */
export interface LiveImportAccepted {
  job_id: string;
  chat: string;
}

/** The HTTP answers the CLI reads, as storage's own response schemas define them. */
export type SearchResultRow = Static<typeof SearchResult>;
export type ChatRow = Static<typeof ChatSummarySchema>;
/** GET /api/chats/:id/stats. */
export type ChatStatsRow = Static<typeof ChatStatsSchema>;

export class GatewayClient {
  readonly baseUrl: string;
  /** TGLENS_API_TOKEN, sent as a bearer token when set. */
  private readonly token: string | undefined;

  constructor(baseUrl: string, token?: string) {
    this.baseUrl = baseUrl.replace(/\/$/, "");
    this.token = token;
  }

  private call<T>(path: string, opts: CallOptions = {}): Promise<T> {
    return callJson<T>(this.baseUrl, path, { ...opts, token: this.token });
  }

  async alive(): Promise<boolean> {
    try {
      const res = await fetch(`${this.baseUrl}/health`, { signal: AbortSignal.timeout(1500) });
      return res.ok;
    } catch {
      return false;
    }
  }

  /**
   * Starts an import by streaming the file as the request body: it works the same with a server
   * on this machine or another, whatever the server's import directory is.
   */
  async importFile(file: string): Promise<ImportAccepted> {
    let absolute = path.resolve(file);
    let stat = await fs.stat(absolute).catch(() => undefined);
    // Telegram Desktop exports to a folder: its result.json is the export.
    if (stat?.isDirectory()) {
      absolute = path.join(absolute, EXPORT_FILE_NAME);
      stat = await fs.stat(absolute).catch(() => undefined);
      if (!stat?.isFile()) throw new TglensError("TGLENS_NOT_FOUND", `${file} is a folder without a ${EXPORT_FILE_NAME} (export the chat as JSON in Telegram Desktop)`);
    }
    if (!stat?.isFile()) throw new TglensError("TGLENS_NOT_FOUND", `no such file: ${file}`);
    const res = await fetch(`${this.baseUrl}/api/scrape`, {
      method: "POST",
      headers: { ...bearer(this.token), "content-type": "application/json", "content-length": String(stat.size) },
      body: Readable.toWeb(createReadStream(absolute)) as ReadableStream,
      duplex: "half",
      signal: AbortSignal.timeout(60 * 60_000),
    } as RequestInit).catch((err: Error) => {
      throw new TglensError("TGLENS_UPSTREAM", `cannot reach ${this.baseUrl}: ${err.message}`);
    });
    return readJsonResponse<ImportAccepted>(res, "POST /api/scrape");
  }

  /** Starts a live read of a chat through the Telegram API (the server needs Telegram credentials). */
  importChat(body: { chat: string; limit?: number; since?: string }): Promise<LiveImportAccepted> {
    return this.call<LiveImportAccepted>("/api/scrape", { body, timeoutMs: 60_000 });
  }

  job(jobId: string): Promise<JobStatus> {
    return this.call<JobStatus>(`/api/jobs/${encodeURIComponent(jobId)}`);
  }

  async search(params: Record<string, string | number | undefined>): Promise<SearchResultRow[]> {
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined) query.set(k, String(v));
    const res = await this.call<{ results: SearchResultRow[] }>(`/api/search?${query}`);
    return res.results;
  }

  async chats(): Promise<ChatRow[]> {
    return (await this.call<{ chats: ChatRow[] }>("/api/chats")).chats;
  }

  chatStats(chatId: string): Promise<ChatStatsRow> {
    return this.call(`/api/chats/${encodeURIComponent(chatId)}/stats`);
  }

  forget(chatId: string): Promise<{ chat_id: string; deleted: boolean; messages: number }> {
    return this.call(`/api/chats/${encodeURIComponent(chatId)}`, { method: "DELETE" });
  }

  /** Polls a job until it is done or failed, reporting each status. */
  async waitForJob(jobId: string, onStatus: (job: JobStatus) => void, intervalMs = 200): Promise<JobStatus> {
    for (;;) {
      const job = await this.job(jobId);
      onStatus(job);
      // A parked job (a long Telegram FloodWait) resumes by itself: keep waiting.
      if (isFinished(job.state)) return job;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}

/** A client of a gateway (by default this configuration's), with its API token: TGLENS_API_TOKEN, else the read-only one. */
export function gatewayClient(config: Readonly<Config>, url = config.urls["telegram-bot"]): GatewayClient {
  return new GatewayClient(url, config.access.adminToken ?? config.access.readToken);
}

export function gatewayUrl(config: Readonly<Config>, env: NodeJS.ProcessEnv = process.env): string {
  return env.TGLENS_URL ?? config.urls["telegram-bot"];
}
