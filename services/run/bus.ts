/**
 * A bus of either kind with what every tglens process hangs on it: dead letters from any stage
 * count as `failed` for their job. Which kind a process uses is its entry module's choice
 * (embedded.ts, distributed.ts).
 */
import type { Bus } from "../common/bus.ts";
import type { Config } from "../common/config.ts";
import { TglensError } from "../common/errors.ts";
import { jobOfDeadLetter, reportJob, reportMessages } from "../common/jobs.ts";
import { createKafkaBus } from "../common/kafka/index.ts";
import type { Logger } from "../common/logger.ts";
import { createMemoryBus } from "../common/memory-bus.ts";
import type { DeadLetter } from "../common/schemas.ts";

export type BusKind = "memory" | "kafka";

export async function createBus(kind: BusKind, config: Readonly<Config>, log: Logger, clientId = "tglens"): Promise<Bus> {
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
  if (kind === "kafka" && !config.kafkaBrokers) throw new TglensError("TGLENS_CONFIG", "the Kafka bus needs KAFKA_BROKERS");
  created.bus = kind === "kafka" ? await createKafkaBus({ ...common, brokers: config.kafkaBrokers!, clientId, log }) : createMemoryBus(common);
  return created.bus;
}
