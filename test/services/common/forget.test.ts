/**
 * A service's part in forgetting a chat: it answers each forget on control-topic with what it
 * removed, again on a redelivery (0 removed then), with forget-failed and the error when it cannot,
 * and stays out of a request that names other services.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { followForgets, forgetGroup } from "../../../services/common/forget.ts";
import { TglensError } from "../../../services/common/errors.ts";
import { createLogger } from "../../../services/common/logger.ts";
import { createMemoryBus } from "../../../services/common/memory-bus.ts";
import { askToForget } from "../../helpers/forget.ts";
import { collector } from "./bus-contract.ts";

const silent = createLogger({ level: "silent" });

describe("followForgets", () => {
  it("confirms with what the service removed, and again (nothing left) when asked again", async () => {
    const bus = createMemoryBus();
    const kept = new Map([["42", 3]]);
    const asked: string[] = [];
    const sub = await followForgets({
      bus,
      service: "preprocessor",
      log: silent,
      async forget(chatId) {
        asked.push(chatId);
        const files = kept.get(chatId) ?? 0;
        kept.delete(chatId);
        return { files };
      },
    });
    try {
      const first = await askToForget(bus, "preprocessor", "42", "r1");
      assert.deepEqual(first, { v: 1, kind: "forgotten", request_id: "r1", chat_id: "42", service: "preprocessor", removed: { files: 3 } });
      const again = await askToForget(bus, "preprocessor", "42", "r1");
      assert.deepEqual(again.kind === "forgotten" && again.removed, { files: 0 });
      assert.deepEqual(asked, ["42", "42"]);
      assert.equal(forgetGroup("preprocessor"), "forget-preprocessor");
    } finally {
      await sub.close();
      await bus.close();
    }
  });

  it("answers forget-failed with the error's code when it cannot, and the next request is handled", async () => {
    const bus = createMemoryBus();
    let broken = true;
    const sub = await followForgets({
      bus,
      service: "storage",
      log: silent,
      async forget() {
        if (broken) throw new TglensError("TGLENS_NOT_READY", "the disk is away");
        return { messages: 1 };
      },
    });
    try {
      const failed = await askToForget(bus, "storage", "7");
      assert.equal(failed.kind, "forget-failed");
      assert.deepEqual(failed.kind === "forget-failed" && failed.error, { code: "TGLENS_NOT_READY", message: "the disk is away" });
      broken = false;
      assert.equal((await askToForget(bus, "storage", "7")).kind, "forgotten");
    } finally {
      await sub.close();
      await bus.close();
    }
  });

  it("leaves a request that names other services alone", async () => {
    const bus = createMemoryBus();
    const asked: string[] = [];
    const answers = collector<"control-topic">(3, 1_000);
    const sub = await followForgets({ bus, service: "storage", log: silent, forget: async (chatId) => (asked.push(chatId), {}) });
    const watch = await bus.subscribe("control-topic", "test-watch", answers.handler);
    try {
      await bus.publish(
        "control-topic",
        { v: 1, kind: "forget", request_id: "a", chat_id: "5", services: ["scraper", "preprocessor"] },
        { key: "5" },
      );
      await bus.publish("control-topic", { v: 1, kind: "forget", request_id: "b", chat_id: "5", services: ["storage"] }, { key: "5" });
      await answers.done;
      assert.deepEqual(asked, ["5"]);
      assert.deepEqual(
        answers.seen.map((d) => `${d.message.kind}:${d.message.request_id}`),
        ["forget:a", "forget:b", "forgotten:b"],
      );
    } finally {
      await watch.close();
      await sub.close();
      await bus.close();
    }
  });

  it("refuses a control message that does not match its schema", async () => {
    const bus = createMemoryBus();
    try {
      const bad = { v: 1, kind: "forget", request_id: "x", chat_id: "../etc" } as const;
      await assert.rejects(bus.publish("control-topic", bad, { key: "x" }), { code: "TGLENS_SCHEMA" });
    } finally {
      await bus.close();
    }
  });
});
