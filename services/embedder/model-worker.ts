/**
 * The model on a worker thread. onnxruntime-node runs inference synchronously on the calling
 * thread (its run() is a setImmediate around a blocking call), so in the embedder's process every
 * batch froze the event loop for a few hundred milliseconds: HTTP answers, bus deliveries and, in
 * embedded mode, cleaning and storing all waited, and the ONNX threads idled while they ran. Here the
 * model lives in a worker and the event loop stays free; vectors come back as one transferred
 * buffer per batch, so nothing is copied on the way. Requests carry their priority: the worker's
 * model runs query requests ahead of bulk ones (lanes.ts), between two ONNX calls.
 */
import { Worker } from "node:worker_threads";
import { TglensError } from "../common/errors.ts";
import type { EmbeddingModel, OnnxModelOptions, Priority } from "./model.ts";

/** Messages between the two threads (see model-worker-thread.ts). */
export type WorkerRequest = { id: number; texts: readonly string[]; priority: Priority } | { id: number; close: true };
export type WorkerReply =
  | { kind: "ready"; name: string; dim: number }
  | { kind: "vectors"; id: number; data: Float32Array; count: number }
  | { kind: "error"; id: number | null; code: string; message: string }
  | { kind: "closed"; id: number };

export async function loadEmbeddingModelInWorker(opts: OnnxModelOptions): Promise<EmbeddingModel> {
  const worker = new Worker(new URL("./model-worker-thread.ts", import.meta.url), { workerData: opts });
  const pending = new Map<number, { resolve: (v: Float32Array[] | undefined) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let failure: Error | undefined;

  const failAll = (err: Error) => {
    failure ??= err;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };

  const ready = new Promise<{ name: string; dim: number }>((resolve, reject) => {
    worker.on("message", (reply: WorkerReply) => {
      if (reply.kind === "ready") return resolve(reply);
      if (reply.kind === "error" && reply.id === null) return reject(new TglensError(reply.code as never, reply.message));
      if (reply.id === null) return;
      const p = pending.get(reply.id);
      if (!p) return;
      pending.delete(reply.id);
      if (reply.kind === "error") p.reject(new TglensError(reply.code as never, reply.message));
      else if (reply.kind === "closed") p.resolve(undefined);
      else {
        const dim = reply.data.length / Math.max(reply.count, 1);
        p.resolve(Array.from({ length: reply.count }, (_, i) => reply.data.subarray(i * dim, (i + 1) * dim)));
      }
    });
    worker.on("error", (err) => {
      reject(err);
      failAll(err);
    });
    worker.on("exit", (code) => {
      const err = new TglensError("TGLENS_NOT_READY", `the embedding model's worker thread exited (code ${code})`);
      reject(err);
      failAll(err);
    });
  });
  const { name, dim } = await ready;

  const call = (request: Omit<WorkerRequest, "id"> & Partial<WorkerRequest>) =>
    new Promise<Float32Array[] | undefined>((resolve, reject) => {
      if (failure) return reject(failure);
      const id = nextId++;
      pending.set(id, { resolve, reject });
      worker.postMessage({ ...request, id });
    });

  let closing: Promise<void> | undefined;
  return {
    name,
    dim,
    async embed(texts, opts = {}) {
      if (texts.length === 0) return [];
      return (await call({ texts, priority: opts.priority ?? "bulk" }))!;
    },
    close() {
      closing ??= (async () => {
        if (!failure) await call({ close: true }).catch(() => undefined);
        await worker.terminate();
      })();
      return closing;
    },
  };
}
