/**
 * The CLI's view of a running tglens: everything goes through the gateway's HTTP API (the one API
 * client, services/gateway/api/client.ts), so a running server sees what the CLI imports. Without
 * a server, the CLI starts the embedded system in its own process for the duration of the command
 * and talks to that the same way.
 */
import { createReadStream } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import type { Config } from "../services/common/config.ts";
import { TglensError } from "../services/common/errors.ts";
import { ApiClient, type ImportAccepted } from "../services/gateway/api/client.ts";
import { EXPORT_FILE_NAME } from "../services/scraper/export-reader.ts";

/** The API client on a gateway, with what only a command line does: check it answers, import a file by its path. */
export class GatewayClient extends ApiClient {
  readonly baseUrl: string;

  constructor(baseUrl: string, token?: string) {
    super({ gateway: baseUrl }, token);
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
    let absolute = path.resolve(file);
    let stat = await fs.stat(absolute).catch(() => undefined);
    // Telegram Desktop exports to a folder: its result.json is the export.
    if (stat?.isDirectory()) {
      absolute = path.join(absolute, EXPORT_FILE_NAME);
      stat = await fs.stat(absolute).catch(() => undefined);
      if (!stat?.isFile())
        throw new TglensError("TGLENS_NOT_FOUND", `${file} is a folder without a ${EXPORT_FILE_NAME} (export the chat as JSON in Telegram Desktop)`);
    }
    if (!stat?.isFile()) throw new TglensError("TGLENS_NOT_FOUND", `no such file: ${file}`);
    return this.upload(Readable.toWeb(createReadStream(absolute)) as ReadableStream<Uint8Array>, stat.size);
  }
}

/** A client of a gateway (by default this configuration's), with its API token: TGLENS_API_TOKEN, else the read-only one. */
export function gatewayClient(config: Readonly<Config>, url = config.urls["telegram-bot"]): GatewayClient {
  return new GatewayClient(url, config.access.adminToken ?? config.access.readToken);
}

export function gatewayUrl(config: Readonly<Config>, env: NodeJS.ProcessEnv = process.env): string {
  return env.TGLENS_URL ?? config.urls["telegram-bot"];
}
