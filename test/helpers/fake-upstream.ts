/**
 * A stand-in for a service behind the gateway (storage, the scraper) on loopback: it answers every
 * request with what `answer` says, as raw bytes, and records what it was asked, so a test can check
 * what the gateway or the API client sent and that the answer came back unchanged.
 */
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";

export interface UpstreamAnswer {
  status: number;
  /** JSON-encoded unless it is a string already (sent byte for byte). */
  body: unknown;
  headers?: Record<string, string>;
}

export interface SeenRequest {
  method: string;
  url: string;
  authorization: string | undefined;
  contentType: string | undefined;
  contentLength: string | undefined;
  body: string;
}

export interface FakeUpstream {
  url: string;
  seen: SeenRequest[];
  close(): Promise<void>;
}

export async function fakeUpstream(answer: (req: IncomingMessage) => UpstreamAnswer): Promise<FakeUpstream> {
  const seen: SeenRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const h = req.headers;
      const body = Buffer.concat(chunks).toString("utf8");
      const { authorization, "content-type": contentType, "content-length": contentLength } = h;
      seen.push({ method: req.method!, url: req.url!, authorization, contentType, contentLength, body });
      const reply = answer(req);
      const bytes = typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body);
      res.writeHead(reply.status, { "content-type": "application/json; charset=utf-8", ...reply.headers }).end(bytes);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, seen, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
