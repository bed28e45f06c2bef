/**
 * The Docker deployment, checked without a Docker engine (none runs here): deploy/docker-compose.yml
 * is parsed (the `yaml` package, merge keys resolved as Compose does) and validated against the
 * Compose Specification's JSON schema (test/deploy/compose-spec.schema.json: the compose-spec
 * project's schema as vendored by dclint 3.1.0, Apache-2.0; ajv validates), then its structure is
 * checked: Kafka in KRaft mode from apache/kafka with a healthcheck; the five services with
 * healthchecks on their own /health, resource limits, a data volume of its own for each service
 * that keeps data (none shared), the env file, service
 * URLs on the compose network; only the gateway publishes a port; every tglens variable used
 * exists in config.ts's settingsTable(). The Dockerfile is checked for what the build relies on:
 * multi-stage, BuildKit cache mount for npm, model fetched at build time, node:24-slim runtime,
 * non-root user, entrypoint and default command. Not checked here: that the image builds and the
 * containers start (that needs an engine).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { parse } from "yaml";
import { Ajv } from "ajv";
import { loadConfig, SERVICE_NAMES, settingsTable, type ServiceName } from "../../services/common/config.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const DEPLOY = path.join(ROOT, "deploy");
const composeText = await fs.readFile(path.join(DEPLOY, "docker-compose.yml"), "utf8");
const compose = parse(composeText, { merge: true }) as any;
const dockerfile = await fs.readFile(path.join(DEPLOY, "Dockerfile"), "utf8");
const KNOWN_ENV = new Set(settingsTable().map((s) => s.env));
const PORTS: Record<ServiceName, number> = { "telegram-bot": 8000, scraper: 8001, preprocessor: 8002, embedder: 8003, storage: 8004 };

/** Compose memory strings ("512M", "1G", "1.5g") in bytes. */
function bytes(value: string | number): number {
  if (typeof value === "number") return value;
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)b?$/i.exec(value.trim());
  assert.ok(m, `memory ${value}`);
  return Number(m[1]) * { "": 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30 }[m[2]!.toLowerCase() as "" | "k" | "m" | "g"];
}

function envOf(service: any): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) return Object.fromEntries(env.map((e: string) => [e.split("=")[0], e.slice(e.indexOf("=") + 1)]));
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)]));
}

function healthTest(service: any): string {
  const test = service.healthcheck?.test;
  return Array.isArray(test) ? test.join(" ") : String(test ?? "");
}

describe("deploy/docker-compose.yml", () => {
  it("is valid against the Compose Specification schema", async () => {
    const schema = JSON.parse(await fs.readFile(path.join(import.meta.dirname, "compose-spec.schema.json"), "utf8"));
    assert.equal(schema.title, "Compose Specification");
    // The schema names its meta-schema by an https URL ajv does not know; it is draft-07, which ajv speaks by default.
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false, validateSchema: false });
    const validate = ajv.compile(schema);
    const ok = validate(compose);
    assert.ok(ok, JSON.stringify(validate.errors, null, 2));
    // And the schema does reject a broken file (a typo'd key), so the check above means something.
    assert.equal(validate({ services: { x: { image: "a", helthcheck: {} } } }), false);
  });

  it("runs Kafka in KRaft mode from the official apache/kafka image, with a healthcheck and 1 CPU / 1 GB", () => {
    const kafka = compose.services.kafka;
    assert.match(kafka.image, /^apache\/kafka:\d/);
    const env = envOf(kafka);
    assert.equal(env.KAFKA_PROCESS_ROLES, "broker,controller");
    assert.match(env.KAFKA_CONTROLLER_QUORUM_VOTERS!, /^1@kafka:\d+$/);
    assert.match(env.KAFKA_ADVERTISED_LISTENERS!, /PLAINTEXT:\/\/kafka:9092/);
    assert.equal(env.KAFKA_AUTO_CREATE_TOPICS_ENABLE, "false");
    assert.equal(
      Object.keys(env).some((k) => /ZOOKEEPER/.test(k)),
      false,
    );
    assert.equal(
      Object.keys(compose.services).some((k) => /zookeeper/i.test(k)),
      false,
    );
    assert.match(healthTest(kafka), /kafka-broker-api-versions\.sh --bootstrap-server localhost:9092/);
    assert.equal(String(kafka.deploy.resources.limits.cpus), "1");
    assert.equal(bytes(kafka.deploy.resources.limits.memory), 2 ** 30);
    assert.equal(kafka.ports, undefined);
  });

  it("has the five services, each from the tglens image with its command, a /health healthcheck and limits", () => {
    assert.deepEqual(Object.keys(compose.services).sort(), ["kafka", ...SERVICE_NAMES].sort());
    for (const name of SERVICE_NAMES) {
      const s = compose.services[name];
      assert.ok(s.image || s.build, `${name}: image or build`);
      assert.equal(s.build.dockerfile, "deploy/Dockerfile", name);
      assert.equal(path.resolve(DEPLOY, s.build.context), ROOT, `${name}: built from the repository root`);
      assert.deepEqual(s.command, ["service", name]);
      assert.match(healthTest(s), new RegExp(`http://127\\.0\\.0\\.1:${PORTS[name]}/health`), `${name} healthcheck`);
      assert.ok(s.healthcheck.interval && s.healthcheck.retries, name);
      assert.equal(s.depends_on?.kafka?.condition, "service_healthy", `${name} waits for a healthy Kafka`);
      const limits = s.deploy?.resources?.limits;
      assert.ok(limits, `${name}: limits`);
      assert.equal(String(limits.cpus), "0.5", `${name}: 0.5 CPU`);
      if (name === "embedder") {
        // More memory only where measured necessary, and the reason is written beside it.
        assert.ok(bytes(limits.memory) > 512 * 2 ** 20 && bytes(limits.memory) <= 2 * 2 ** 30, `embedder memory ${limits.memory}`);
        assert.match(composeText, /embedder's process RSS peaked at \d+ MiB/);
      } else {
        assert.equal(bytes(limits.memory), 512 * 2 ** 20, `${name}: 512 MB`);
      }
    }
  });

  it("publishes only the gateway's port", () => {
    for (const [name, s] of Object.entries<any>(compose.services)) {
      if (name === "telegram-bot") continue;
      assert.equal(s.ports, undefined, `${name} publishes no port`);
    }
    const ports = compose.services["telegram-bot"].ports;
    assert.equal(ports.length, 1);
    assert.match(String(ports[0]), /:8000$/);
  });

  it("wires the services by name over Kafka, with tglens variables that config.ts knows", () => {
    for (const name of SERVICE_NAMES) {
      const env = envOf(compose.services[name]);
      assert.equal(env.TGLENS_HOST, "0.0.0.0", name);
      assert.equal(env.KAFKA_BROKERS, "kafka:9092", name);
      assert.equal(env.TGLENS_DATA_DIR, "/data", name);
      for (const other of SERVICE_NAMES) {
        const suffix = other === "telegram-bot" ? "GATEWAY" : other.toUpperCase();
        assert.equal(env[`TGLENS_${suffix}_URL`], `http://${other}:${PORTS[other]}`, `${name}: URL of ${other}`);
      }
      for (const key of Object.keys(env)) {
        if (key.startsWith("TGLENS_") || key.startsWith("KAFKA_")) assert.ok(KNOWN_ENV.has(key), `${name}: ${key} is not a tglens setting`);
      }
    }
  });

  it("requires an API token in every service (they listen on 0.0.0.0) and accepts the service names as Host headers", () => {
    const interpolated = (value: string) =>
      value.replace(/\$\{(\w+)(?::[?-]([^}]*))?\}/g, (_m, name: string) => ({ TGLENS_API_TOKEN: "0123456789abcdef0123456789abcdef" })[name] ?? "");
    for (const name of SERVICE_NAMES) {
      const env = envOf(compose.services[name]);
      assert.match(env.TGLENS_API_TOKEN ?? "", /^\$\{TGLENS_API_TOKEN:\?.+\}$/, `${name}: compose stops at once without a token`);
      const config = loadConfig(Object.fromEntries(Object.entries(env).map(([k, v]) => [k, interpolated(v)])));
      for (const other of SERVICE_NAMES) assert.ok(config.access.allowedHosts.includes(other), `${name} answers requests for Host ${other}`);
      // Without the token the service itself refuses to start, saying why.
      assert.throws(
        () => loadConfig({ ...env, TGLENS_API_TOKEN: undefined, TGLENS_ALLOWED_HOSTS: "" }),
        /TGLENS_HOST=0\.0\.0\.0 listens beyond this machine/,
      );
    }
  });

  it("gives each service that keeps data a named volume of its own (none shared), and reads secrets from an env file", async () => {
    const OWN: Record<ServiceName, string | undefined> = {
      "telegram-bot": undefined,
      scraper: "tglens-scraper",
      preprocessor: "tglens-preprocessor",
      embedder: undefined,
      storage: "tglens-storage",
    };
    assert.deepEqual(Object.keys(compose.volumes).sort(), ["tglens-preprocessor", "tglens-scraper", "tglens-storage"]);
    const mounted: string[] = [];
    for (const name of SERVICE_NAMES) {
      const s = compose.services[name];
      // The gateway and the embedder keep nothing (the model is in the image): no volume at all.
      assert.deepEqual(s.volumes, OWN[name] ? [`${OWN[name]}:/data`] : undefined, name);
      mounted.push(...(s.volumes ?? []).map((v: string) => v.split(":")[0]));
      assert.equal(envOf(s).TGLENS_DATA_DIR, "/data", name);
      const files = (Array.isArray(s.env_file) ? s.env_file : [s.env_file]).map((f: any) => (typeof f === "string" ? f : f.path));
      assert.deepEqual(files, [".env"], name);
    }
    assert.equal(new Set(mounted).size, mounted.length, "no volume is mounted by two services");
    assert.doesNotMatch(composeText, /tglens-data/);
    assert.doesNotMatch(dockerfile, /^VOLUME\b/m, "no anonymous volume for the services that keep nothing");
    // .env.example is committed, .env is not; every variable the example names is a tglens setting.
    const example = await fs.readFile(path.join(DEPLOY, ".env.example"), "utf8");
    const names = [...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!);
    assert.ok(names.length > 0);
    for (const n of names) assert.ok(KNOWN_ENV.has(n), `.env.example: ${n} is not a tglens setting`);
    assert.match(await fs.readFile(path.join(DEPLOY, ".gitignore"), "utf8"), /^\.env$/m);
    assert.match(await fs.readFile(path.join(ROOT, ".dockerignore"), "utf8"), /^deploy\/\.env$/m);
  });
});

describe("deploy/Dockerfile and .dockerignore", () => {
  const lines = dockerfile.split("\n").map((l) => l.trim());
  const froms = lines.filter((l) => /^FROM\s/i.test(l));

  it("is multi-stage: a deps stage with npm ci on a BuildKit npm cache and the model fetched at build time", () => {
    assert.match(lines[0]!, /^# syntax=docker\/dockerfile:1/);
    assert.ok(froms.length >= 2, "two stages or more");
    assert.ok(froms.some((l) => /\bAS\s+deps\b/i.test(l)));
    assert.match(dockerfile, /RUN --mount=type=cache,target=\/root\/\.npm\b[^\n]*\\?\s*\n?[^\n]*npm ci\b/);
    assert.match(dockerfile, /^RUN npm run model:fetch$/m);
    assert.match(dockerfile, /COPY --from=deps \/app\/node_modules/);
    assert.match(dockerfile, /COPY --from=deps \/app\/\.cache\/models/);
  });

  it("runs on node:24-slim as a non-root user, the service chosen by the command", () => {
    assert.match(dockerfile, /^ARG NODE_IMAGE=node:24-slim$/m);
    assert.match(froms.at(-1)!, /^FROM \$\{NODE_IMAGE\} AS runtime$/);
    const lastFrom = lines.lastIndexOf(froms.at(-1)!);
    const users = lines.slice(lastFrom).filter((l) => /^USER\s/.test(l));
    assert.equal(users.length, 1);
    assert.doesNotMatch(users[0]!, /^USER\s+(root|0)(:|$)/);
    assert.match(dockerfile, /^ENTRYPOINT \["node", "cli\/tglens\.ts"\]$/m);
    assert.match(dockerfile, /^CMD \["service", "telegram-bot"\]$/m);
    assert.match(dockerfile, /TGLENS_HOST=0\.0\.0\.0/);
    assert.match(dockerfile, /TGLENS_MODEL_REMOTE=0/);
  });

  it("copies only files that exist, and the build context leaves out local state and secrets", async () => {
    for (const m of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const src of m[1]!.split(/\s+/)) assert.ok(existsSync(path.join(ROOT, src)), `COPY source ${src}`);
    }
    const ignore = (await fs.readFile(path.join(ROOT, ".dockerignore"), "utf8")).split("\n").map((l) => l.trim());
    for (const entry of ["node_modules", ".cache", "data", ".git", "deploy/.env"]) assert.ok(ignore.includes(entry), `.dockerignore: ${entry}`);
  });
});
