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
import { callJson, readJsonResponse } from "../services/common/http-client.ts";
import type { JobStatus } from "../services/common/jobs.ts";
import type { ChatRef } from "../services/common/schemas.ts";
import type { Static } from "@sinclair/typebox";
import type { ChatStatsSchema, ChatSummarySchema, SearchResult } from "../services/storage/index.ts";

export interface ImportAccepted {
  job_id: string;
  chats: ChatRef[];
  messages: number;
  skipped: number;
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

  constructor(baseUrl: string) {
    this.baseUrl = baseUrl.replace(/\/$/, "");
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
    const absolute = path.resolve(file);
    const stat = await fs.stat(absolute).catch(() => undefined);
    if (!stat?.isFile()) throw new TglensError("TGLENS_NOT_FOUND", `no such file: ${file}`);
    const res = await fetch(`${this.baseUrl}/api/scrape`, {
      method: "POST",
      headers: { "content-type": "application/json", "content-length": String(stat.size) },
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
    return callJson<LiveImportAccepted>(this.baseUrl, "/api/scrape", { body, timeoutMs: 60_000 });
  }

  job(jobId: string): Promise<JobStatus> {
    return callJson<JobStatus>(this.baseUrl, `/api/jobs/${encodeURIComponent(jobId)}`);
  }

  async search(params: Record<string, string | number | undefined>): Promise<SearchResultRow[]> {
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined) query.set(k, String(v));
    const res = await callJson<{ results: SearchResultRow[] }>(this.baseUrl, `/api/search?${query}`);
    return res.results;
  }

  async chats(): Promise<ChatRow[]> {
    return (await callJson<{ chats: ChatRow[] }>(this.baseUrl, "/api/chats")).chats;
  }

  /** The id of a chat given by id, or by its exact name when exactly one chat has it. */
  async chatIdOf(chat: string): Promise<string> {
    if (/^-?\d+$/.test(chat)) return chat;
    const matches = (await this.chats()).filter((c) => c.name === chat);
    if (matches.length !== 1) {
      throw new TglensError(
        "TGLENS_NOT_FOUND",
        matches.length === 0 ? `no chat named ${JSON.stringify(chat)}` : `${matches.length} chats are named ${JSON.stringify(chat)}; use the id`,
      );
    }
    return matches[0]!.chat_id;
  }

  chatStats(chatId: string): Promise<ChatStatsRow> {
    return callJson(this.baseUrl, `/api/chats/${encodeURIComponent(chatId)}/stats`);
  }

  forget(chatId: string): Promise<{ chat_id: string; deleted: boolean; messages: number }> {
    return callJson(this.baseUrl, `/api/chats/${encodeURIComponent(chatId)}`, { method: "DELETE" });
  }

  /** Polls a job until it is done or failed, reporting each status. */
  async waitForJob(jobId: string, onStatus: (job: JobStatus) => void, intervalMs = 200): Promise<JobStatus> {
    for (;;) {
      const job = await this.job(jobId);
      onStatus(job);
      // A parked job (a long Telegram FloodWait) resumes by itself: keep waiting.
      if (job.state === "done" || job.state === "failed") return job;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}

export function gatewayUrl(config: Readonly<Config>, env: NodeJS.ProcessEnv = process.env): string {
  return env.TGLENS_URL ?? config.urls["telegram-bot"];
}
