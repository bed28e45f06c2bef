/**
 * The bus contract suite: every Bus implementation must pass it unchanged. The memory bus runs it
 * in memory-bus.test.ts; the Kafka bus runs it against a real broker (kafka/kafka-bus.kafka.test.ts).
 * Failures are asserted by error code, so both buses fail alike.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Bus, Delivery } from "../../../services/common/bus.ts";
import type { DeadLetter, RawMessage, Topic } from "../../../services/common/schemas.ts";
import { rejectsWith } from "../../helpers/errors.ts";
import { rawRecord } from "../../helpers/records.ts";

export interface ContractTarget {
  bus: Bus;
  /** Appends a payload without publish-side validation (a foreign or buggy producer). */
  injectRaw(topic: Topic, key: string, payload: string): Promise<void>;
  /** The bus's dead letters of a topic so far (test/helpers/bus-inspect.ts). */
  deadLetters(topic: Topic): Promise<DeadLetter[]>;
  /** A fresh group name per test, so tests never see each other's offsets. */
  group(name: string): string;
  close(): Promise<void>;
}

/** The bus suites' shorthand: a preprocess-topic record (test/helpers/records.ts) with its own text. */
export function rawMessage(chatId: string, messageId: number, text?: string): RawMessage {
  return rawRecord(chatId, messageId, text === undefined ? {} : { text });
}

/** Collects deliveries until `count` arrived (or fails after `timeoutMs`). */
export function collector<T extends Topic>(count: number, timeoutMs = 20_000) {
  const seen: Delivery<T>[] = [];
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  const timer = setTimeout(() => resolveDone(), timeoutMs);
  return {
    seen,
    handler: async (batch: Delivery<T>[]) => {
      seen.push(...batch);
      if (seen.length >= count) {
        clearTimeout(timer);
        resolveDone();
      }
    },
    done,
  };
}

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function busContract(name: string, makeTarget: () => Promise<ContractTarget>): void {
  describe(`bus contract: ${name}`, () => {
    it("delivers what was published, parsed and equal", async () => {
      const t = await makeTarget();
      try {
        const c = collector<"preprocess-topic">(1);
        await t.bus.subscribe("preprocess-topic", t.group("roundtrip"), c.handler);
        const msg = rawMessage("100", 1, "Привет, мир! 你好 🎉");
        await t.bus.publish("preprocess-topic", msg, { key: "100" });
        await c.done;
        assert.equal(c.seen.length, 1);
        assert.deepEqual(c.seen[0]!.message, msg);
        assert.equal(c.seen[0]!.meta.key, "100");
        assert.equal(c.seen[0]!.meta.topic, "preprocess-topic");
      } finally {
        await t.close();
      }
    });

    it("keeps per-key order and delivers each message once per group", async () => {
      const t = await makeTarget();
      try {
        const keys = ["11", "22", "33", "44", "55"];
        const perKey = 40;
        const a = collector<"preprocess-topic">(keys.length * perKey);
        const b = collector<"preprocess-topic">(keys.length * perKey);
        await t.bus.subscribe("preprocess-topic", t.group("order-a"), a.handler, { batchSize: 7 });
        await t.bus.subscribe("preprocess-topic", t.group("order-b"), b.handler);
        const items = [];
        for (let i = 0; i < perKey; i++) for (const key of keys) items.push({ key, message: rawMessage(key, i) });
        await t.bus.publishMany("preprocess-topic", items);
        await Promise.all([a.done, b.done]);
        await settle(200);
        for (const c of [a, b]) {
          assert.equal(c.seen.length, keys.length * perKey, "every message exactly once");
          for (const key of keys) {
            const ids = c.seen.filter((d) => d.message.chat.id === key).map((d) => d.message.message_id);
            assert.deepEqual(ids, [...Array(perKey).keys()], `order of key ${key}`);
          }
        }
      } finally {
        await t.close();
      }
    });

    it("publishes a batch larger than one broker request in one publishMany, each message once", async () => {
      const t = await makeTarget();
      try {
        // 300 messages of 8 KB: 2.4 MB on one key, well over Kafka's default 1 MiB per record batch.
        const filler = "x".repeat(8 * 1024);
        const items = Array.from({ length: 300 }, (_, i) => ({ key: "7777", message: rawMessage("7777", i, `${i} ${filler}`) }));
        const c = collector<"preprocess-topic">(items.length);
        await t.bus.subscribe("preprocess-topic", t.group("big"), c.handler, { batchSize: 500 });
        await t.bus.publishMany("preprocess-topic", items);
        await c.done;
        await settle(200);
        assert.deepEqual(
          c.seen.map((d) => d.message.message_id),
          [...Array(300).keys()],
        );
        assert.equal(await t.deadLetters("preprocess-topic").then((l) => l.length), 0);
      } finally {
        await t.close();
      }
    });

    it("hands batches no larger than batchSize, all from one partition", async () => {
      const t = await makeTarget();
      try {
        const batches: Delivery<"preprocess-topic">[][] = [];
        const c = collector<"preprocess-topic">(60);
        await t.bus.publishMany(
          "preprocess-topic",
          Array.from({ length: 60 }, (_, i) => ({ key: `${10 + (i % 6)}`, message: rawMessage(`${10 + (i % 6)}`, i) })),
        );
        await t.bus.subscribe(
          "preprocess-topic",
          t.group("batches"),
          async (batch) => {
            batches.push(batch);
            await c.handler(batch);
          },
          { batchSize: 8, maxWaitMs: 20 },
        );
        await c.done;
        assert.equal(c.seen.length, 60);
        for (const batch of batches) {
          assert.ok(batch.length >= 1 && batch.length <= 8, `batch of ${batch.length}`);
          assert.equal(new Set(batch.map((d) => d.meta.partition)).size, 1);
        }
        assert.ok(
          batches.some((b) => b.length > 1),
          "batching happened",
        );
      } finally {
        await t.close();
      }
    });

    it("starts a new group at the earliest message", async () => {
      const t = await makeTarget();
      try {
        await t.bus.publish("preprocess-topic", rawMessage("200", 1), { key: "200" });
        await t.bus.publish("preprocess-topic", rawMessage("200", 2), { key: "200" });
        const c = collector<"preprocess-topic">(2);
        await t.bus.subscribe("preprocess-topic", t.group("late"), c.handler);
        await c.done;
        assert.deepEqual(
          c.seen.map((d) => d.message.message_id),
          [1, 2],
        );
      } finally {
        await t.close();
      }
    });

    it("rejects an invalid message at publish and delivers nothing", async () => {
      const t = await makeTarget();
      try {
        const c = collector<"preprocess-topic">(1, 500);
        await t.bus.subscribe("preprocess-topic", t.group("invalid"), c.handler);
        const bad = { ...rawMessage("300", 1), message_id: "one" } as unknown as RawMessage;
        await assert.rejects(t.bus.publish("preprocess-topic", bad, { key: "300" }), { code: "TGLENS_SCHEMA" });
        await c.done;
        assert.equal(c.seen.length, 0);
      } finally {
        await t.close();
      }
    });

    it("refuses a topic it does not know, publishing and subscribing: TGLENS_SCHEMA", async () => {
      const t = await makeTarget();
      try {
        const typo = "preprocess-topik" as Topic;
        await rejectsWith(t.bus.publish(typo, rawMessage("310", 1), { key: "310" }), "TGLENS_SCHEMA");
        await rejectsWith(t.bus.publishMany(typo, [{ key: "310", message: rawMessage("310", 1) }]), "TGLENS_SCHEMA");
        await rejectsWith(
          t.bus.subscribe(typo, t.group("typo"), async () => undefined),
          "TGLENS_SCHEMA",
        );
      } finally {
        await t.close();
      }
    });

    it("refuses a publish after close: TGLENS_NOT_READY", async () => {
      const t = await makeTarget();
      try {
        await t.bus.close();
        const closed = await rejectsWith(t.bus.publish("preprocess-topic", rawMessage("320", 1), { key: "320" }), "TGLENS_NOT_READY");
        assert.match(closed.message, /bus is closed/);
        await rejectsWith(t.bus.publishMany("preprocess-topic", [{ key: "320", message: rawMessage("320", 2) }]), "TGLENS_NOT_READY");
        assert.equal(await t.bus.ready(), false);
      } finally {
        await t.close();
      }
    });

    it("refuses a subscribe after close: TGLENS_NOT_READY", async () => {
      const t = await makeTarget();
      try {
        await t.bus.close();
        await rejectsWith(
          t.bus.subscribe("preprocess-topic", t.group("closed"), async () => undefined),
          "TGLENS_NOT_READY",
        );
      } finally {
        await t.close();
      }
    });

    it("dead-letters a poison message with its origin and error; the rest go through", async () => {
      const t = await makeTarget();
      try {
        const good: number[] = [];
        let poisonCalls = 0;
        const group = t.group("poison");
        await t.bus.subscribe(
          "preprocess-topic",
          group,
          async (batch) => {
            for (const d of batch) {
              if (d.message.text === "poison") {
                poisonCalls++;
                throw new Error("always fails");
              }
            }
            for (const d of batch) good.push(d.message.message_id);
          },
          { batchSize: 10 },
        );
        await t.injectRaw("preprocess-topic", "400", JSON.stringify({ v: 1, not: "a raw message" }));
        await t.bus.publishMany("preprocess-topic", [
          { key: "400", message: rawMessage("400", 1) },
          { key: "400", message: rawMessage("400", 2, "poison") },
          { key: "400", message: rawMessage("400", 3) },
        ]);
        const deadline = Date.now() + 20_000;
        let letters = await t.deadLetters("preprocess-topic");
        while ((letters.length < 2 || good.length < 2) && Date.now() < deadline) {
          await settle(50);
          letters = await t.deadLetters("preprocess-topic");
        }
        assert.deepEqual(good.sort(), [1, 3]);
        assert.equal(letters.length, 2);
        const schemaLetter = letters.find((l) => l.error.code === "TGLENS_SCHEMA");
        const poisonLetter = letters.find((l) => l.error.message === "always fails");
        assert.ok(schemaLetter, "schema violation dead-lettered");
        assert.equal(schemaLetter.attempts, 1, "a schema violation is not retried");
        assert.ok(poisonLetter, "poison dead-lettered");
        assert.equal(poisonLetter.topic, "preprocess-topic");
        assert.equal(poisonLetter.key, "400");
        assert.match(poisonLetter.offset, /^\d+$/);
        assert.ok(poisonLetter.attempts >= 2 && poisonCalls >= 2, "retried before dead-lettering");
        assert.equal(JSON.parse(poisonLetter.payload).message_id, 2);
      } finally {
        await t.close();
      }
    });

    it("retries a transient failure and then succeeds without a dead letter", async () => {
      const t = await makeTarget();
      try {
        let calls = 0;
        const c = collector<"preprocess-topic">(1);
        await t.bus.subscribe("preprocess-topic", t.group("transient"), async (batch) => {
          calls++;
          if (calls < 3) throw new Error("try again");
          await c.handler(batch);
        });
        await t.bus.publish("preprocess-topic", rawMessage("500", 1), { key: "500" });
        await c.done;
        assert.equal(c.seen.length, 1);
        assert.equal(calls, 3);
        assert.equal((await t.deadLetters("preprocess-topic")).filter((l) => l.key === "500").length, 0);
      } finally {
        await t.close();
      }
    });

    it("commits only after the handler: a restarted group loses nothing and repeats nothing it finished", async () => {
      const t = await makeTarget();
      try {
        const group = t.group("restart");
        const total = 30;
        const handled: number[] = [];
        let release!: () => void;
        const blocked = new Promise<void>((resolve) => (release = resolve));
        const first = await t.bus.subscribe(
          "preprocess-topic",
          group,
          async (batch) => {
            for (const d of batch) {
              if (d.message.message_id === 10) await blocked;
              handled.push(d.message.message_id);
            }
          },
          { batchSize: 1 },
        );
        await t.bus.publishMany(
          "preprocess-topic",
          Array.from({ length: total }, (_, i) => ({ key: "600", message: rawMessage("600", i) })),
        );
        while (!handled.includes(9)) await settle(20);
        const closing = first.close();
        release();
        await closing;
        const upTo = handled.length;
        const again = collector<"preprocess-topic">(total - upTo);
        await t.bus.subscribe("preprocess-topic", group, again.handler);
        await again.done;
        await settle(200);
        const all = [...handled, ...again.seen.map((d) => d.message.message_id)];
        assert.deepEqual(
          [...new Set(all)].sort((x, y) => x - y),
          [...Array(total).keys()],
          "nothing lost",
        );
        assert.equal(all.length, total, "nothing finished before the close was delivered again");
      } finally {
        await t.close();
      }
    });
  });
}
