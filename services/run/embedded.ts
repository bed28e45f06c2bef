/**
 * Embedded mode: all five services in one process over the in-memory bus, each on its own port,
 * exactly as they run apart. This is what `tglens serve` and `npm start` run.
 */
import type { Bus } from "../common/bus.ts";
import { SERVICE_NAMES, type Config } from "../common/config.ts";
import type { Logger } from "../common/logger.ts";
import type { Service } from "../common/service.ts";
import { stopStep } from "../common/shutdown.ts";
import { createBus } from "./bus.ts";
import { buildService, runService, stopService, type ServiceContext } from "./build.ts";

export interface EmbeddedSystem {
  bus: Bus;
  services: Service[];
  config: Readonly<Config>;
  close(): Promise<void>;
}

export async function startEmbedded(config: Readonly<Config>, log: Logger, seams: Pick<ServiceContext, "telegram"> = {}): Promise<EmbeddedSystem> {
  const bus = await createBus("memory", config, log);
  const services: Service[] = [];
  try {
    for (const name of SERVICE_NAMES) services.push(await buildService(name, { bus, config, log, ...seams }));
    for (const service of services) await runService(service, config);
  } catch (err) {
    for (const service of services) await stopService(service).catch(() => {});
    await bus.close();
    throw err;
  }
  log.info({ gateway: config.urls["telegram-bot"] }, "tglens is running (embedded mode)");
  let closing: Promise<void> | undefined;
  return {
    bus,
    services,
    config,
    close() {
      closing ??= (async () => {
        // Upstream first, so nothing new flows into a stage that is already closed.
        for (const service of services) await stopService(service);
        await stopStep("bus", () => bus.close());
      })();
      return closing;
    },
  };
}
