/**
 * Distributed mode: one service in this process, talking to the others over Kafka (KAFKA_BROKERS).
 * Without brokers the service runs alone on an in-memory bus, which is enough to try one service's
 * HTTP API. This is what `tglens service <name>` and each container of deploy/ run.
 */
import type { Config, ServiceName } from "../common/config.ts";
import type { Logger } from "../common/logger.ts";
import type { Service } from "../common/service.ts";
import { stopStep } from "../common/shutdown.ts";
import { buildService, runService, stopService } from "./build.ts";
import { createBus, type BusKind } from "./bus.ts";

export interface RunningService {
  service: Service;
  bus: BusKind;
  close(): Promise<void>;
}

export async function startService(name: ServiceName, config: Readonly<Config>, log: Logger): Promise<RunningService> {
  const kind: BusKind = config.kafkaBrokers ? "kafka" : "memory";
  const bus = await createBus(kind, config, log, `tglens-${name}`);
  let service: Service;
  try {
    service = await buildService(name, { bus, config, log });
    await runService(service, config);
  } catch (err) {
    await bus.close().catch(() => {});
    throw err;
  }
  log.info({ service: name, port: config.ports[name], bus: kind }, "service running");
  let closing: Promise<void> | undefined;
  return {
    service,
    bus: kind,
    close: () =>
      (closing ??= (async () => {
        await stopService(service);
        await stopStep("bus", () => bus.close());
      })()),
  };
}
