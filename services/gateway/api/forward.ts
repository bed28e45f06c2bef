/**
 * Forwards one request to the service that owns the answer and hands its answer back byte for
 * byte: status, content type, Retry-After and the body as a Buffer, which Fastify sends without
 * serializing (so the response schemas the gateway declares document, and never reshape). The
 * service is called with the gateway's own token: the caller's rights were checked already.
 */
import { Readable } from "node:stream";
import type { FastifyReply, FastifyRequest } from "fastify";
import { TglensError } from "../../common/errors.ts";
import { bearer } from "../../common/http-client.ts";

const UPSTREAM_TIMEOUT_MS = 10 * 60_000;

export interface ForwardTarget {
  /** The service's base URL. */
  baseUrl: string;
  /** The path there (the request's query string is appended as it came). */
  path: string;
  token: string | undefined;
}

export async function forward(req: FastifyRequest, reply: FastifyReply, target: ForwardTarget, body?: Readable): Promise<FastifyReply> {
  const { baseUrl, path, token } = target;
  const query = req.url.includes("?") ? req.url.slice(req.url.indexOf("?")) : "";
  let res: Response;
  try {
    res = await fetch(baseUrl + path + query, {
      method: req.method,
      headers: { ...bearer(token), ...(body ? { "content-type": req.headers["content-type"] ?? "application/json" } : {}) },
      body: body ? (Readable.toWeb(body) as ReadableStream) : undefined,
      duplex: body ? "half" : undefined,
      signal: AbortSignal.timeout(UPSTREAM_TIMEOUT_MS),
    } as RequestInit);
  } catch (err) {
    throw new TglensError("TGLENS_UPSTREAM", `cannot reach ${baseUrl}: ${(err as Error).message}`, { cause: err });
  }
  reply.status(res.status);
  reply.header("content-type", res.headers.get("content-type") ?? "application/json");
  const retryAfter = res.headers.get("retry-after");
  if (retryAfter !== null) reply.header("retry-after", retryAfter);
  return reply.send(Buffer.from(await res.arrayBuffer()));
}
