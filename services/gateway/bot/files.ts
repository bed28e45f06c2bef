/**
 * Reads a file someone sent the bot. The official Bot API serves it over HTTP at
 * <apiRoot>/file/bot<token>/<file_path> (up to 20 MB); a self-hosted telegram-bot-api server in
 * --local mode answers getFile with an absolute path on its own disk instead, read directly when
 * this process can see it. The URL holds the token, so no error built here ever includes it.
 */
import { createReadStream } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { TglensError } from "../../common/errors.ts";

/** `signal` ends the download (the bot aborts it when stopping). */
export async function openTelegramFile(
  apiRoot: string,
  token: string,
  filePath: string,
  label: string,
  signal?: AbortSignal,
): Promise<ReadableStream<Uint8Array>> {
  if (path.isAbsolute(filePath)) {
    const readable = await fs.access(filePath).then(
      () => true,
      () => false,
    );
    if (readable) return Readable.toWeb(createReadStream(filePath)) as ReadableStream<Uint8Array>;
  }
  let res: Response;
  try {
    res = await fetch(`${apiRoot}/file/bot${token}/${filePath.split("/").map(encodeURIComponent).join("/")}`, signal ? { signal } : {});
  } catch {
    throw new TglensError("TGLENS_TELEGRAM", `could not download ${label} from the Bot API server`);
  }
  if (!res.ok || !res.body) throw new TglensError("TGLENS_TELEGRAM", `the Bot API server could not deliver ${label} (HTTP ${res.status})`);
  return res.body as ReadableStream<Uint8Array>;
}
