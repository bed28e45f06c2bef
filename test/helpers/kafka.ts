/**
 * The shared local broker of the Kafka tests. A test file that needs a real broker is named
 * `*.kafka.test.ts`, so `npm run test:kafka` runs those files alone and `npm run test:unit` skips them.
 * Each file gives its topics a prefix of its own and deletes them afterwards, so runs never see one another's.
 */
import { Admin } from "@platformatic/kafka";
import { after, before } from "node:test";
import { portOpen } from "../../scripts/port-open.ts";
import { kafkaScript } from "./distributed.ts";

export const KAFKA_PORT = Number(process.env.KAFKA_PORT ?? 9092);
export const KAFKA_BROKERS = [`127.0.0.1:${KAFKA_PORT}`];

/**
 * Starts the broker on KAFKA_PORT (scripts/kafka.sh) before this file's tests if nothing listens
 * there; after them runs `cleanup`, then stops the broker only if this file started it. Call it at module level.
 */
export function useSharedBroker(cleanup: () => Promise<void> = async () => undefined): void {
  let started = false;
  before(async () => {
    if (!(await portOpen("127.0.0.1", KAFKA_PORT))) {
      await kafkaScript("start", KAFKA_PORT);
      started = true;
    }
  });
  after(async () => {
    await cleanup();
    if (started) await kafkaScript("stop", KAFKA_PORT);
  });
}

/**
 * Deletes the topics and consumer groups whose names start with one of the prefixes, so repeated
 * runs do not pile them up in .cache/kafka. Best effort: a broker that is gone deletes nothing.
 */
export async function deleteByPrefix(brokers: string[], prefixes: { topics: string[]; groups?: string[] }): Promise<void> {
  const admin = new Admin({ clientId: "tglens-test-cleanup", bootstrapBrokers: brokers, retries: 1 });
  const matching = (names: Iterable<string>, starts: string[]) => [...names].filter((n) => starts.some((p) => n.startsWith(p)));
  try {
    const topics = matching(await admin.listTopics(), prefixes.topics);
    if (topics.length > 0) await admin.deleteTopics({ topics });
    const groups = prefixes.groups?.length ? matching((await admin.listGroups()).keys(), prefixes.groups) : [];
    if (groups.length > 0) await admin.deleteGroups({ groups });
  } catch {
    // best effort
  } finally {
    await admin.close().catch(() => undefined);
  }
}
