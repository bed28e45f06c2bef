/**
 * The worker side of model-worker.ts: loads the ONNX model here and hands every embed request to it
 * as it arrives; the model's lanes order the work (queries first) and run one ONNX call at a time.
 * A close waits for the work already queued. Errors travel back with their code; a failed load ends
 * the worker.
 */
import { parentPort, workerData } from "node:worker_threads";
import { describeError } from "../common/errors.ts";
import { loadOnnxEmbeddingModel, type OnnxModelOptions } from "./model.ts";
import type { WorkerReply, WorkerRequest } from "./model-worker.ts";

const port = parentPort!;
const send = (reply: WorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(reply, transfer);

try {
  const model = await loadOnnxEmbeddingModel(workerData as OnnxModelOptions);
  port.on("message", async (request: WorkerRequest) => {
    if ("close" in request) {
      await model.close();
      send({ kind: "closed", id: request.id });
      port.close();
      return;
    }
    try {
      const vectors = await model.embed(request.texts, { priority: request.priority });
      const data = new Float32Array(vectors.length * model.dim);
      vectors.forEach((v, i) => data.set(v, i * model.dim));
      send({ kind: "vectors", id: request.id, data, count: vectors.length }, [data.buffer]);
    } catch (err) {
      send({ kind: "error", id: request.id, ...describeError(err) });
    }
  });
  send({ kind: "ready", name: model.name, dim: model.dim });
} catch (err) {
  send({ kind: "error", id: null, ...describeError(err) });
  process.exit(1);
}
