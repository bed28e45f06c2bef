/**
 * Calls between services (gateway → storage, storage → embedder, CLI → gateway). Errors keep the
 * callee's code when it sent one, so a 400 from storage stays a 400 with the same code. A caller
 * with an API token sends it as a bearer token.
 */
import { TglensError, type ErrorCode, ERROR_CODES } from "./errors.ts";

export interface CallOptions {
  method?: string;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as it is, as a JSON body (an export streamed from a file); `bytes` is its Content-Length when known. */
  stream?: { body: ReadableStream<Uint8Array>; bytes?: number };
  timeoutMs?: number;
  /** Sent as `Authorization: Bearer <token>` (TGLENS_API_TOKEN); none when undefined. */
  token?: string | undefined;
}

/** The Authorization header for a token, or no header without one. */
export function bearer(token: string | undefined): Record<string, string> {
  return token === undefined ? {} : { authorization: `Bearer ${token}` };
}

export async function callJson<T>(baseUrl: string, path: string, opts: CallOptions = {}): Promise<T> {
  const body = opts.stream ? opts.stream.body : opts.body === undefined ? undefined : JSON.stringify(opts.body);
  const length = opts.stream?.bytes === undefined ? {} : { "content-length": String(opts.stream.bytes) };
  let res: Response;
  try {
    res = await fetch(baseUrl + path, {
      method: opts.method ?? (body === undefined ? "GET" : "POST"),
      headers: { ...bearer(opts.token), ...(body === undefined ? {} : { "content-type": "application/json", ...length }) },
      body,
      ...(opts.stream ? { duplex: "half" } : {}),
      signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000),
    } as RequestInit);
  } catch (err) {
    throw new TglensError("TGLENS_UPSTREAM", `cannot reach ${baseUrl}: ${(err as Error).message}`, { cause: err });
  }
  return readJsonResponse<T>(res, baseUrl + path);
}

export async function readJsonResponse<T>(res: Response, what: string): Promise<T> {
  const text = await res.text();
  let body: unknown;
  try {
    body = text === "" ? undefined : JSON.parse(text);
  } catch {
    throw new TglensError("TGLENS_UPSTREAM", `${what} answered ${res.status} with a body that is not JSON`);
  }
  if (!res.ok) {
    const error = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
    const code = error?.code && error.code in ERROR_CODES ? (error.code as ErrorCode) : "TGLENS_UPSTREAM";
    throw new TglensError(code, error?.message ?? `${what} answered ${res.status}`);
  }
  return body as T;
}
