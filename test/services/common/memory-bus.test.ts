import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createMemoryBus } from "../../../services/common/memory-bus.ts";
import { inspectMemoryBus } from "../../helpers/bus-inspect.ts";
import { busContract, collector, rawMessage } from "./bus-contract.ts";

busContract("memory", async () => {
  const bus = createMemoryBus({ retryBaseMs: 5, maxAttempts: 3 });
  const inspect = inspectMemoryBus(bus);
  let n = 0;
  return { bus, injectRaw: bus.injectRaw, deadLetters: inspect.deadLetters, group: (name) => `${name}-${++n}`, close: () => bus.close() };
});

describe("memory bus", () => {
  it("applies backpressure: a publisher waits while a consumer lags maxLag behind", async () => {
    const bus = createMemoryBus({ maxLag: 5, partitions: 1 });
    try {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const c = collector<"preprocess-topic">(20);
      await bus.subscribe("preprocess-topic", "slow", async (batch) => {
        await gate;
        await c.handler(batch);
      });
      let published = 0;
      const publishing = (async () => {
        for (let i = 0; i < 20; i++) {
          await bus.publish("preprocess-topic", rawMessage("1", i), { key: "1" });
          published++;
        }
      })();
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.ok(published <= 6, `publisher ran ahead: ${published}`);
      release();
      await publishing;
      await c.done;
      assert.equal(c.seen.length, 20);
    } finally {
      await bus.close();
    }
  });

  it("calls onDeadLetter for each dead letter", async () => {
    const letters: string[] = [];
    const bus = createMemoryBus({ maxAttempts: 2, retryBaseMs: 1, onDeadLetter: (l) => letters.push(l.key) });
    try {
      await bus.subscribe("preprocess-topic", "g", async () => {
        throw new Error("no");
      });
      await bus.publish("preprocess-topic", rawMessage("7", 1), { key: "7" });
      while (letters.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.deepEqual(letters, ["7"]);
    } finally {
      await bus.close();
    }
  });
});
