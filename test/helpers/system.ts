/**
 * Starts a real embedded tglens for a test: temp data and import directories, free ports, the real
 * model, quiet logs. Everything it made is removed by close().
 */
import fs from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { loadConfig, SERVICE_NAMES, type Config } from "../../services/common/config.ts";
import { createLogger } from "../../services/common/logger.ts";
import { startEmbedded, type EmbeddedSystem } from "../../services/run/embedded.ts";
import { tempDir } from "./temp.ts";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

// Temp directories live in temp.ts; these names stay importable from here.
export { scratchDirs, tempDir } from "./temp.ts";

/** A config on free ports with fresh directories; `env` overrides any variable. */
export async function testConfig(env: Record<string, string> = {}): Promise<Readonly<Config>> {
  const root = await tempDir("test");
  const vars: Record<string, string> = {
    TGLENS_DATA_DIR: path.join(root, "data"),
    TGLENS_IMPORT_DIR: path.join(root, "imports"),
    TGLENS_LOG_LEVEL: "silent",
    TGLENS_DEMO: "0",
    TGLENS_MODEL_CACHE: path.resolve(".cache/models"),
  };
  for (const name of SERVICE_NAMES) {
    const suffix = name === "telegram-bot" ? "GATEWAY" : name.toUpperCase();
    vars[`TGLENS_${suffix}_PORT`] = String(await freePort());
  }
  await fs.mkdir(vars.TGLENS_IMPORT_DIR!, { recursive: true });
  return loadConfig({ ...vars, ...env });
}

export interface TestSystem {
  system: EmbeddedSystem;
  config: Readonly<Config>;
  /** The gateway's base URL. */
  url: string;
  close(): Promise<void>;
}

export async function startTestSystem(env: Record<string, string> = {}): Promise<TestSystem> {
  const config = await testConfig(env);
  const system = await startEmbedded(config, createLogger({ level: config.logLevel }));
  return {
    system,
    config,
    url: config.urls["telegram-bot"],
    async close() {
      await system.close();
      await fs.rm(path.dirname(config.dataDir), { recursive: true, force: true });
    },
  };
}

/** Lists every file under a directory (relative paths with sizes), to prove nothing changed. */
export async function snapshotDir(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(d: string): Promise<void> {
    let entries;
    try {
      entries = await fs.readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.push(`${path.relative(dir, p)}:${(await fs.stat(p)).size}`);
    }
  }
  await walk(dir);
  return out.sort();
}
