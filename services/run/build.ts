/**
 * Builds any service from a configuration and a bus. Embedded mode builds all five on one memory
 * bus; distributed mode builds one per process on Kafka. The bus is the only thing that differs.
 */
import path from "node:path";
import type { Bus } from "../common/bus.ts";
import type { Config, ServiceName } from "../common/config.ts";
import { storageDir } from "../common/data-files.ts";
import type { Logger } from "../common/logger.ts";
import type { Service } from "../common/service.ts";
import { stopStep } from "../common/shutdown.ts";
import { createEmbedder } from "../embedder/index.ts";
import { resolveModelDir } from "../embedder/model-files.ts";
import { loadEmbeddingModelInWorker } from "../embedder/model-worker.ts";
import { createPreprocessor } from "../preprocessor/index.ts";
import { createScraper, type ScraperDeps } from "../scraper/index.ts";
import { createStorageService, httpQueryEmbedder } from "../storage/index.ts";
import { openStorage } from "../storage/sqlite-storage.ts";
import { createGateway } from "../gateway/index.ts";

export interface ServiceContext {
  bus: Bus;
  config: Readonly<Config>;
  log: Logger;
  /** The scraper's Telegram client factory and clock: GramJS and real time unless a test says otherwise. */
  telegram?: ScraperDeps["telegram"];
}

export async function buildService(name: ServiceName, ctx: ServiceContext): Promise<Service> {
  const log = ctx.log.child({ service: name });
  const { bus, config } = ctx;
  switch (name) {
    case "telegram-bot":
      return createGateway({ bus, log, config });
    case "scraper":
      return createScraper({ bus, log, config, ...(ctx.telegram ? { telegram: ctx.telegram } : {}) });
    case "preprocessor":
      return createPreprocessor({ bus, log, config });
    case "embedder": {
      const dir = await resolveModelDir({
        modelDir: config.modelDir,
        cacheDir: config.modelCache,
        allowRemote: config.modelRemote,
        ...(config.modelHubUrl ? { hubBaseUrl: config.modelHubUrl } : {}),
        ...(config.modelMavenUrl ? { mavenBaseUrl: config.modelMavenUrl } : {}),
        variant: config.modelVariant,
        log: (msg: string) => log.info(msg),
      });
      const model = await loadEmbeddingModelInWorker({
        dir,
        variant: config.modelVariant,
        ...(config.threads > 0 ? { threads: config.threads } : {}),
      });
      log.info({ dir: path.relative(process.cwd(), dir) || dir, variant: config.modelVariant }, "model loaded");
      const service = await createEmbedder({ bus, model, log, config });
      return { ...service, stop: async () => (await service.stop(), await model.close()) };
    }
    case "storage": {
      const storage = await openStorage({ dir: storageDir(config.dataDir), hnswThreshold: config.hnswThreshold, log });
      return createStorageService({ bus, storage, queryEmbedder: httpQueryEmbedder(config.urls.embedder, config.access.adminToken), log, config });
    }
  }
}

/** Starts a built service: listen on its port, then consume. */
export async function runService(service: Service, config: Readonly<Config>): Promise<void> {
  await service.app.listen({ host: config.host, port: config.ports[service.name] });
  await service.start();
}

/** How long requests still in flight may run once a service is closing; then their connections are cut. */
const HTTP_CLOSE_GRACE_MS = 3_000;

/** Stops consuming, then closes the HTTP server (requests still running after a grace are cut off). */
export async function stopService(service: Service): Promise<void> {
  await stopStep(`${service.name}: stop`, () => service.stop());
  await stopStep(`${service.name}: HTTP server`, async () => {
    const cut = setTimeout(() => service.app.server.closeAllConnections(), HTTP_CLOSE_GRACE_MS);
    try {
      await service.app.close();
    } finally {
      clearTimeout(cut);
    }
  });
}
