/**
 * A service is a library first: built from its dependencies, it has an HTTP app (not yet listening)
 * and a bus side that starts and stops. Processes (embedded or distributed) decide where it runs.
 */
import type { FastifyInstance } from "fastify";
import pkg from "../../package.json" with { type: "json" };
import type { Subscription } from "./bus.ts";
import type { ServiceName } from "./config.ts";

export interface Service {
  readonly name: ServiceName;
  readonly app: FastifyInstance;
  /** Starts consuming from the bus. */
  start(): Promise<void>;
  /** Stops consuming (in-flight batches finish and commit) and releases resources. */
  stop(): Promise<void>;
}

/**
 * A service whose bus side is a set of subscriptions: `start` opens them, `stop` closes them in
 * the order they were opened (in-flight batches finish and commit), then releases what it holds.
 */
export function busService(
  name: ServiceName,
  app: FastifyInstance,
  open: () => Promise<Subscription[]>,
  release: () => Promise<void> = async () => {},
): Service {
  const subscriptions: Subscription[] = [];
  return {
    name,
    app,
    async start() {
      subscriptions.push(...(await open()));
    },
    async stop() {
      for (const s of subscriptions.splice(0)) await s.close();
      await release();
    },
  };
}

/** The version of tglens, as package.json gives it (the one place it is written). */
export const TGLENS_VERSION: string = pkg.version;
