/**
 * The job tracker on a real Kafka broker: the shared suite (job-tracker-suite.ts; a reopened tracker
 * keeps its one consumer group, which the broker knows), and a group that lost its commits reads
 * job-topic again from the start and counts nothing twice. The broker on 127.0.0.1:9092 (KAFKA_PORT)
 * is started if nothing listens there, and stopped afterwards only if this file started it; every
 * test has topics and a role of its own.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Admin } from "@platformatic/kafka";
import type { Bus } from "../../../services/common/bus.ts";
import type { JobTracker } from "../../../services/common/job-tracker.ts";
import { createKafkaBus } from "../../../services/common/kafka/index.ts";
import { deleteByPrefix, KAFKA_BROKERS as BROKERS, useSharedBroker } from "../../helpers/kafka.ts";
import {
  counted,
  counters,
  follow,
  type Harness,
  newDir,
  newRole,
  plain,
  publish,
  queued,
  RUN,
  silent,
  trackerSuite,
  until,
} from "./job-tracker-suite.ts";

const kafkaPrefixes: string[] = [];
function kafkaHarness(): Harness {
  const prefix = `${RUN}${kafkaPrefixes.length + 1}-`;
  kafkaPrefixes.push(prefix);
  const buses: Bus[] = [];
  return {
    async bus() {
      const bus = await createKafkaBus({
        brokers: BROKERS,
        clientId: `tglens-test-${prefix.slice(0, -1)}`,
        topicPrefix: prefix,
        startTimeoutMs: 20_000,
      });
      buses.push(bus);
      return bus;
    },
    groupsOf: (role) => withAdmin(async (admin) => [...(await admin.listGroups()).keys()].filter((g) => g.startsWith(`jobs-${role}-`))),
    close: async () => void (await Promise.all(buses.map((b) => b.close()))),
  };
}

async function withAdmin<T>(fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = new Admin({ clientId: "tglens-test-admin", bootstrapBrokers: BROKERS });
  try {
    return await fn(admin);
  } finally {
    await admin.close();
  }
}

/** Retries an action that may fail while the broker catches up (a group still leaving). */
async function retrying(what: string, action: () => Promise<unknown>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      await action();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`, { cause: err });
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

useSharedBroker(() => deleteByPrefix(BROKERS, { topics: kafkaPrefixes, groups: [`jobs-${RUN}-`] }));

trackerSuite("kafka", kafkaHarness);

describe("job tracker: redeliveries and ownership", { timeout: 180_000 }, () => {
  it("on Kafka, a group that lost its commits reads job-topic again from the start and counts nothing twice", async () => {
    const h = kafkaHarness();
    const dataDir = newDir();
    const role = newRole();
    const opened: JobTracker[] = [];
    try {
      const publisher = await h.bus();
      const t1 = await follow(opened, { bus: await h.bus(), dataDir, role, log: silent });
      await publish(publisher, [
        queued("a", 5),
        counted("a", "scraped", [1, 2, 3, 4, 5]),
        plain("a", { skipped: 4, replaced: 1 }),
        counted("a", "stored", [1, 2]),
      ]);
      await until("two stored", () => counters(t1, "a")?.stored === 2);
      const was = structuredClone(t1.jobs.get("a")!);
      await t1.close();
      // As if the commits never reached the broker: the group is gone, so it starts at the earliest offset.
      await retrying("the group to be deleted", () => withAdmin((admin) => admin.deleteGroups({ groups: [t1.group] })));
      const t2 = await follow(opened, { bus: await h.bus(), dataDir, role, log: silent });
      await publish(publisher, [counted("a", "stored", [3])]);
      await until("three stored", () => counters(t2, "a")?.stored === 3);
      assert.deepEqual(counters(t2, "a"), { ...was.counters, stored: 3 });
    } finally {
      for (const t of opened) await t.close();
      await h.close();
    }
  });
});
