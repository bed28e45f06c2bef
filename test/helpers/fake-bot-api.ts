/**
 * A fake Telegram Bot API server on loopback, for driving the bot end to end without Telegram
 * (grammY's `apiRoot` points at it). It serves the methods the bot calls, queues updates for
 * getUpdates (long polling) as a person would produce them, records every call, and can be told to
 * answer the next call of a method with an error such as 429 Too Many Requests. It can also vanish
 * the two ways a server goes away: `close()` resets every connection and refuses new ones, and
 * `goSilent()` keeps accepting connections but never answers again.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface ApiCall {
  method: string;
  payload: Record<string, any>;
  at: number;
  /** False when the fake answered with an error (see failNext). */
  ok: boolean;
  /** What the fake answered (a sent message carries its message_id). */
  result?: any;
}

interface Failure {
  error_code: number;
  description: string;
  parameters?: { retry_after?: number };
}

export const BOT_USER = {
  id: 990001,
  is_bot: true,
  first_name: "tglens",
  username: "tglens_test_bot",
  can_join_groups: true,
  can_read_all_group_messages: false,
  supports_inline_queries: false,
};

export class FakeBotApi {
  readonly calls: ApiCall[] = [];
  /** Every request path the server saw (the token is part of it, as with the real API). */
  readonly paths: string[] = [];
  readonly token: string;
  #server: http.Server | undefined;
  #updates: Record<string, any>[] = [];
  #nextUpdateId = 1;
  #nextMessageId = 1000;
  #wake: (() => void) | undefined;
  #silent = false;
  #failures = new Map<string, Failure[]>();
  #callListeners = new Set<() => void>();
  /** Files people "sent", by file_id: their content, or null for one too big for getFile. */
  #files = new Map<string, { path: string; content: Buffer } | null>();

  constructor(token: string) {
    this.token = token;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server!.address() as AddressInfo).port}`;
  }

  async start(): Promise<void> {
    this.#server = http.createServer((req, res) => void this.#handle(req, res));
    await new Promise<void>((resolve) => this.#server!.listen(0, "127.0.0.1", resolve));
  }

  async close(): Promise<void> {
    this.#wake?.();
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()) ?? resolve());
  }

  /** From now on requests are accepted and read but never answered, as by a hung server. */
  goSilent(): void {
    this.#silent = true;
  }

  /** The next `count` calls of `method` fail with this error. */
  failNext(method: string, failure: Failure, count = 1): void {
    const list = this.#failures.get(method) ?? [];
    for (let i = 0; i < count; i++) list.push(failure);
    this.#failures.set(method, list);
  }

  /** A document sent by `userId`; getFile serves `content` (or refuses it as too big when null). */
  sendDocument(userId: number, fileName: string, content: Buffer | null): Record<string, any> {
    const fileId = `file-${this.#nextMessageId}`;
    this.#files.set(fileId, content === null ? null : { path: `documents/${fileId}.json`, content });
    return this.#fromUser(userId, {
      document: {
        file_id: fileId,
        file_unique_id: fileId,
        file_name: fileName,
        mime_type: "application/json",
        file_size: content?.length ?? 50_000_000,
      },
    });
  }

  /** A message from a user in their private chat with the bot. */
  #fromUser(userId: number, fields: Record<string, any>): Record<string, any> {
    return this.push({
      message: {
        message_id: this.#nextMessageId++,
        date: Math.floor(Date.now() / 1000),
        from: { id: userId, is_bot: false, first_name: `User ${userId}` },
        chat: { id: userId, type: "private", first_name: `User ${userId}` },
        ...fields,
      },
    });
  }

  /** Queues an update for getUpdates; returns it. */
  push(update: Record<string, any>): Record<string, any> {
    const full = { update_id: this.#nextUpdateId++, ...update };
    this.#updates.push(full);
    this.#wake?.();
    return full;
  }

  /** A private-chat text message from a user; commands get their bot_command entity as Telegram sends it. */
  sendText(userId: number, text: string, extra: Record<string, any> = {}): Record<string, any> {
    const command = /^\/\S+/.exec(text);
    return this.#fromUser(userId, {
      text,
      ...(command ? { entities: [{ type: "bot_command", offset: 0, length: command[0].length }] } : {}),
      ...extra,
    });
  }

  /** A tap on an inline button of a message the bot sent. */
  pressButton(userId: number, message: { message_id: number; chat_id: number; text?: string }, data: string): Record<string, any> {
    return this.push({
      callback_query: {
        id: String(this.#nextUpdateId * 7919),
        from: { id: userId, is_bot: false, first_name: `User ${userId}` },
        chat_instance: "1",
        data,
        message: {
          message_id: message.message_id,
          date: Math.floor(Date.now() / 1000),
          chat: { id: message.chat_id, type: "private" },
          text: message.text ?? "",
        },
      },
    });
  }

  /** Calls so far, optionally of one method. */
  callsOf(method: string): ApiCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** Resolves with the first call (from index `from` on) that satisfies `match`. */
  async waitForCall(match: (c: ApiCall) => boolean, timeoutMs = 30_000, from = 0): Promise<ApiCall> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.calls.slice(from).find(match);
      if (found) return found;
      if (Date.now() > deadline)
        throw new Error(`no matching Bot API call within ${timeoutMs} ms; calls: ${JSON.stringify(this.calls.slice(from).map((c) => c.method))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.max(1, deadline - Date.now()));
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.#callListeners.add(done);
      });
    }
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    this.paths.push(req.url ?? "");
    const send = (status: number, body: unknown) => {
      if (this.#silent) return;
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    const download = /^\/file\/bot([^/]+)\/(.+)$/.exec(req.url ?? "");
    if (download) {
      const file = [...this.#files.values()].find((f) => f?.path === decodeURIComponent(download[2]!));
      if (download[1] !== this.token || !file) return send(404, { ok: false, error_code: 404, description: "Not Found" });
      if (this.#silent) return;
      res.writeHead(200, { "content-type": "application/octet-stream" });
      return void res.end(file.content);
    }
    const m = /^\/bot([^/]+)\/(\w+)$/.exec(req.url ?? "");
    if (!m || m[1] !== this.token) return send(401, { ok: false, error_code: 401, description: "Unauthorized" });
    const method = m[2]!;
    let payload: Record<string, any> = {};
    if (raw) payload = JSON.parse(raw) as Record<string, any>;
    const file = method === "getFile" ? this.#files.get(String(payload.file_id)) : undefined;
    const failure =
      this.#failures.get(method)?.shift() ?? (file === null ? { error_code: 400, description: "Bad Request: file is too big" } : undefined);
    const call: ApiCall = { method, payload, at: Date.now(), ok: !failure };
    if (!failure) call.result = await this.#answer(method, payload);
    this.calls.push(call);
    for (const l of [...this.#callListeners]) {
      this.#callListeners.delete(l);
      l();
    }
    if (failure) return send(failure.error_code, { ok: false, ...failure });
    send(200, { ok: true, result: call.result });
  }

  async #answer(method: string, p: Record<string, any>): Promise<unknown> {
    switch (method) {
      case "getMe":
        return BOT_USER;
      case "getUpdates": {
        const offset = Number(p.offset ?? 0);
        this.#updates = this.#updates.filter((u) => u.update_id >= offset);
        if (this.#updates.length === 0 && Number(p.timeout ?? 0) > 0) {
          // Long polling, shortened: wait for an update or half a second.
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, 500);
            this.#wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          this.#wake = undefined;
        }
        return this.#updates.filter((u) => u.update_id >= offset).slice(0, Number(p.limit ?? 100));
      }
      case "sendMessage":
        return {
          message_id: this.#nextMessageId++,
          date: Math.floor(Date.now() / 1000),
          chat: { id: p.chat_id, type: "private" },
          from: BOT_USER,
          text: p.text,
        };
      case "getFile": {
        const file = this.#files.get(String(p.file_id));
        return { file_id: p.file_id, file_unique_id: p.file_id, file_size: file?.content.length ?? 0, file_path: file?.path };
      }
      case "editMessageText":
        return {
          message_id: p.message_id,
          date: Math.floor(Date.now() / 1000),
          chat: { id: p.chat_id, type: "private" },
          from: BOT_USER,
          text: p.text,
        };
      default:
        // deleteWebhook, setWebhook, setMyCommands, answerCallbackQuery, sendChatAction, ...
        return true;
    }
  }
}
