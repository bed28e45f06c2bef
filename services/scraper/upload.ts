/**
 * Exports sent as request bodies go to a file as they arrive, so a large export never sits in
 * memory. A client can hold such an upload open for ever by sending nothing, and each open upload
 * holds a file: so an upload that stays idle too long is cut off (408), and only so many run at
 * once (429 with Retry-After beyond that). A failed upload leaves no file behind.
 */
import { createWriteStream } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { TglensError } from "../common/errors.ts";

export interface UploadLimits {
  /** Largest upload, bytes (413 beyond). */
  maxBytes: number;
  /** Longest pause between two chunks of the body, ms (408 beyond). */
  idleMs: number;
  /** Uploads received at the same time (429 beyond). */
  maxConcurrent: number;
}

/** Seconds a refused client is asked to wait before trying again. */
export const UPLOAD_RETRY_AFTER_SECONDS = 5;

export class UploadGate {
  private active = 0;
  private readonly limits: UploadLimits;

  constructor(limits: UploadLimits) {
    this.limits = limits;
  }

  /**
   * Saves `body` to `file` and returns its size; throws TGLENS_BUSY when too many uploads are
   * under way, TGLENS_TIMEOUT when the body stops arriving, TGLENS_PAYLOAD_TOO_LARGE past the
   * limit. On any failure the file is removed.
   */
  async save(body: Readable | undefined, file: string): Promise<number> {
    if (this.active >= this.limits.maxConcurrent) {
      throw new TglensError(
        "TGLENS_BUSY",
        `${this.active} uploads are under way, the most at once (TGLENS_MAX_UPLOADS); retry in ${UPLOAD_RETRY_AFTER_SECONDS} s`,
        { details: { retryAfterSeconds: UPLOAD_RETRY_AFTER_SECONDS } },
      );
    }
    if (!body) throw new TglensError("TGLENS_BAD_JSON", "request body is empty; send a JSON document");
    this.active++;
    try {
      return await this.copy(body, file);
    } catch (err) {
      await fs.rm(file, { force: true });
      throw err;
    } finally {
      this.active--;
    }
  }

  /**
   * Copies the body by hand rather than with pipeline(): pipeline destroys its source on error, and
   * destroying a request destroys its socket, so the client would never see why it was cut off.
   * Left unread, the request is closed by Node after the error response instead.
   */
  private async copy(body: Readable, file: string): Promise<number> {
    const { maxBytes, idleMs } = this.limits;
    await fs.mkdir(path.dirname(file), { recursive: true });
    const out = createWriteStream(file);
    let bytes = 0;
    await new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let settled = false;
      const detach = () => {
        clearTimeout(timer);
        body.off("data", onData).off("end", onEnd).off("error", fail);
      };
      const fail = (err: unknown) => {
        if (settled) return;
        settled = true;
        detach();
        body.pause();
        out.destroy();
        reject(err);
      };
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(
          () =>
            fail(
              new TglensError(
                "TGLENS_TIMEOUT",
                `the upload sent nothing for ${Math.round(idleMs / 1000)} s (TGLENS_UPLOAD_IDLE_SECONDS); cut off after ${bytes} bytes`,
              ),
            ),
          idleMs,
        );
      };
      const onData = (chunk: Buffer) => {
        bytes += chunk.length;
        arm();
        if (bytes > maxBytes)
          return fail(new TglensError("TGLENS_PAYLOAD_TOO_LARGE", `export upload exceeds ${maxBytes} bytes (TGLENS_MAX_UPLOAD_BYTES)`));
        if (!out.write(chunk)) {
          body.pause();
          out.once("drain", () => body.resume());
        }
      };
      const onEnd = () => {
        detach();
        out.end();
      };
      out.once("finish", () => {
        settled = true;
        resolve();
      });
      out.once("error", fail);
      body.on("data", onData).once("end", onEnd).once("error", fail);
      arm();
    });
    return bytes;
  }
}
