/**
 * The one place that chooses the bus. Dead letters from any stage count as `failed` for their job.
 */
import type { Bus } from "./common/bus.ts";
import type { Config } from "./common/config.ts";
import { jobIdOfDeadLetter, reportJob } from "./common/jobs.ts";
import type { Logger } from "./common/logger.ts";
import { createMemoryBus } from "./common/memory-bus.ts";
import type { DeadLetter } from "./common/schemas.ts";

export function createBus(config: Readonly<Config>, log: Logger): Bus {
  let bus: Bus | undefined;
  const onDeadLetter = (letter: DeadLetter) => {
    log.warn({ topic: letter.topic, partition: letter.partition, offset: letter.offset, error: letter.error, attempts: letter.attempts }, "message dead-lettered");
    const jobId = jobIdOfDeadLetter(letter);
    if (jobId && bus) void reportJob(bus, jobId, { failed: 1 }).catch((err) => log.error({ err }, "could not report a dead letter"));
  };
  bus = createMemoryBus({ partitions: config.partitions, maxAttempts: config.maxAttempts, onDeadLetter });
  return bus;
}
