/**
 * Request bodies sent with `Content-Encoding: gzip`, `deflate` or `br` are decoded as they stream
 * in (node:zlib), so a compressed JSON body or export upload reads the same as a plain one. The
 * size limit counts decoded bytes, and decoding stops at the limit: a small body that inflates
 * to gigabytes (a zip bomb) costs no more than the limit. Any other coding is refused with 415,
 * never read as if it were plain.
 */
import { Transform, type Readable } from "node:stream";
import zlib from "node:zlib";
import { TglensError } from "./errors.ts";

export const BODY_ENCODINGS = ["gzip", "deflate", "br"] as const;
export type BodyEncoding = (typeof BODY_ENCODINGS)[number];

/** The one coding a Content-Encoding header asks for; undefined for none (or identity). */
export function bodyEncodingOf(header: string | undefined): BodyEncoding | undefined {
  if (header === undefined) return undefined;
  const codings = header
    .split(",")
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== "" && c !== "identity");
  if (codings.length === 0) return undefined;
  const coding = codings[0] === "x-gzip" ? "gzip" : codings[0];
  if (codings.length > 1 || !(BODY_ENCODINGS as readonly string[]).includes(coding!)) {
    throw new TglensError(
      "TGLENS_UNSUPPORTED_MEDIA_TYPE",
      `Content-Encoding ${JSON.stringify(header.slice(0, 100))} is not supported: ` +
        `send the body uncompressed, or as one of ${BODY_ENCODINGS.join(", ")}`,
    );
  }
  return coding as BodyEncoding;
}

function decoderFor(coding: BodyEncoding): Transform {
  if (coding === "br") return zlib.createBrotliDecompress();
  if (coding === "deflate") return zlib.createInflate();
  return zlib.createGunzip();
}

/** A decoded body with the count of encoded bytes read, which Fastify compares to Content-Length. */
export type DecodedBody = Readable & { receivedEncodedLength: number };

/**
 * The body as it should be read: `raw` itself when not encoded, else a stream of the decoded
 * bytes that fails with 400 on a corrupt encoding and with 413 past `limit` decoded bytes.
 */
export function decodedBody(contentEncoding: string | undefined, raw: Readable, limit: number): Readable {
  const coding = bodyEncodingOf(contentEncoding);
  if (!coding) return raw;
  const decoder = decoderFor(coding);
  let decoded = 0;
  const out = new Transform({
    transform(chunk: Buffer, _enc, done) {
      decoded += chunk.length;
      if (decoded > limit)
        done(new TglensError("TGLENS_PAYLOAD_TOO_LARGE", `the request body exceeds ${limit} bytes once decoded (Content-Encoding: ${coding})`));
      else done(null, chunk);
    },
  }) as Transform & DecodedBody;
  out.receivedEncodedLength = 0;
  raw.on("data", (chunk: Buffer) => {
    out.receivedEncodedLength += chunk.length;
  });
  raw.on("error", (err) => out.destroy(err));
  decoder.on("error", () =>
    out.destroy(new TglensError("TGLENS_BAD_REQUEST", `the request body is not valid ${coding} data (Content-Encoding: ${coding})`)),
  );
  // Once the reader stops (limit, bad data, an answer already sent), stop decoding too and let
  // the rest of the request drain unread.
  // The reader listens for errors while it reads; one that comes when nobody reads (the answer
  // was already sent) must not crash the process.
  out.on("error", () => {});
  out.on("close", () => {
    raw.unpipe(decoder);
    decoder.destroy();
    raw.resume();
  });
  raw.pipe(decoder).pipe(out);
  return out;
}
