/**
 * The one place that chooses the bus: Kafka when KAFKA_BROKERS is set, the in-memory bus
 * otherwise (busKind names the choice for logs). Dead letters from any stage count as `failed` for
 * their job.
 */
import type { Bus } from "./common/bus.ts";
import type { Config } from "./common/config.ts";
import { jobOfDeadLetter, reportJob, reportMessages } from "./common/jobs.ts";
import { createKafkaBus } from "./common/kafka/index.ts";
import type { Logger } from "./common/logger.ts";
import { createMemoryBus } from "./common/memory-bus.ts";
import type { DeadLetter } from "./common/schemas.ts";

/** Which bus createBus wires in for this config. */
export function busKind(config: Readonly<Config>): "memory" | "kafka" {
  return config.kafkaBrokers ? "kafka" : "memory";
}

export async function createBus(config: Readonly<Config>, log: Logger, clientId = "tglens"): Promise<Bus> {
  // The bus the dead-letter hook reports through: set once the bus it is a hook of exists.
  const created: { bus?: Bus } = {};
  const onDeadLetter = (letter: DeadLetter) => {
    log.warn(
      { topic: letter.topic, partition: letter.partition, offset: letter.offset, error: letter.error, attempts: letter.attempts },
      "message dead-lettered",
    );
    const job = jobOfDeadLetter(letter);
    const bus = created.bus;
    if (!job || !bus) return;
    const { code, message } = letter.error;
    // A scrape request that failed every attempt is its job's source failing, not one message.
    const report =
      letter.topic === "scrape-topic"
        ? reportJob(bus, job.jobId, {}, { phase: "failed", error: { code, message } })
        : job.ref
          ? reportMessages(bus, { failed: [job.ref] }, [{ chat_id: job.ref.chat.id, message_id: job.ref.message_id, code, message }])
          : reportJob(bus, job.jobId, { failed: 1 }, { errors: [{ chat_id: null, message_id: null, code, message }] });
    report.catch((err: unknown) => log.error({ err }, "could not report a dead letter"));
  };
  const common = { partitions: config.partitions, maxAttempts: config.maxAttempts, onDeadLetter };
  created.bus = config.kafkaBrokers ? await createKafkaBus({ ...common, brokers: config.kafkaBrokers, clientId, log }) : createMemoryBus(common);
  return created.bus;
}
