import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { loadConfig, settingsTable } from "../../../services/common/config.ts";

describe("config", () => {
  it("has defaults that work: data in ./data, ports 8000-8004, embedded bus", () => {
    const config = loadConfig({}, "/srv/app");
    assert.equal(config.dataDir, "/srv/app/data");
    assert.deepEqual(Object.values(config.ports), [8000, 8001, 8002, 8003, 8004]);
    assert.equal(config.urls.storage, "http://127.0.0.1:8004");
    assert.equal(config.kafkaBrokers, undefined);
    assert.ok(Object.isFrozen(config));
  });

  it("reports every problem at once, naming each variable", () => {
    assert.throws(
      () => loadConfig({ TGLENS_GATEWAY_PORT: "http", TGLENS_MODEL_VARIANT: "fp64", TGLENS_DEMO: "maybe", TGLENS_DATADIR: "x" }),
      (err: Error & { code?: string; details?: { problems: string[] } }) => {
        assert.equal(err.code, "TGLENS_CONFIG");
        const problems = err.details!.problems.join("\n");
        for (const name of ["TGLENS_GATEWAY_PORT", "TGLENS_MODEL_VARIANT", "TGLENS_DEMO", "TGLENS_DATADIR"]) assert.match(problems, new RegExp(name));
        assert.equal(err.details!.problems.length, 4);
        return true;
      },
    );
  });

  it("derives service URLs from the host and ports unless given", () => {
    const config = loadConfig({ TGLENS_STORAGE_PORT: "9104", TGLENS_EMBEDDER_URL: "http://embedder:8003/" });
    assert.equal(config.urls.storage, "http://127.0.0.1:9104");
    assert.equal(config.urls.embedder, "http://embedder:8003");
  });

  it("reads Kafka brokers as a list", () => {
    assert.deepEqual(loadConfig({ KAFKA_BROKERS: "a:9092, b:9092" }).kafkaBrokers, ["a:9092", "b:9092"]);
  });

  it("takes the model's mirrors, given as URLs (TGLENS_MAVEN_URL was once refused as a typo)", () => {
    const config = loadConfig({ TGLENS_MAVEN_URL: "https://nexus.example/maven2/", HF_ENDPOINT: "https://hf-mirror.example" });
    assert.equal(config.modelMavenUrl, "https://nexus.example/maven2");
    assert.equal(config.modelHubUrl, "https://hf-mirror.example");
    assert.throws(() => loadConfig({ TGLENS_MAVEN_URL: "nexus" }), /TGLENS_MAVEN_URL="nexus": must be a URL/);
  });

  it("is frozen all the way down: a write to a nested part throws", () => {
    const config = loadConfig({ KAFKA_BROKERS: "a:9092", TELEGRAM_ALLOWED_USER_IDS: "42" });
    const writes: [string, () => unknown][] = [
      ["telegram", () => ((config.telegram as { pageSize: number }).pageSize = 1)],
      ["ports", () => (config.ports.storage = 1)],
      ["urls", () => (config.urls.embedder = "http://elsewhere:8003")],
      ["access", () => ((config.access as { adminToken?: string }).adminToken = "0123456789abcdef")],
      ["allowedHosts", () => (config.access.allowedHosts as string[]).push("evil.example")],
      ["allowedUserIds", () => config.telegram.allowedUserIds.push(7)],
      ["kafkaBrokers", () => config.kafkaBrokers!.push("b:9092")],
    ];
    for (const [part, write] of writes) assert.throws(write, TypeError, part);
    assert.equal(config.telegram.pageSize, 100);
    assert.equal(config.ports.storage, 8004);
    assert.deepEqual(config.access.allowedHosts, ["127.0.0.1"]);
    assert.deepEqual(config.telegram.allowedUserIds, [42]);
    assert.deepEqual(config.kafkaBrokers, ["a:9092"]);
  });

  it("uses the default the table shows: a variable set to its documented default changes nothing", () => {
    const unset = loadConfig({}, "/srv/app");
    for (const { env, default: value } of settingsTable()) {
      if (value !== undefined) assert.deepEqual(loadConfig({ [env]: value }, "/srv/app"), unset, env);
    }
  });

  it("writes each default once: loadConfig falls back to no literal of its own", () => {
    const source = fs.readFileSync(path.resolve(import.meta.dirname, "../../../services/common/config.ts"), "utf8");
    const body = source.slice(source.indexOf("export function loadConfig("), source.indexOf("function deepFreeze"));
    assert.ok(body.length > 0);
    assert.deepEqual(body.match(/\?\?\s*(["'\d]|true|false|-)[^,;\n]*/g) ?? [], []);
  });

  it("reports a bad value once and still checks the rest against the default", () => {
    assert.throws(
      () => loadConfig({ TGLENS_DATA_DIR: " ", TGLENS_HOST: "0.0.0.0" }),
      (err: Error & { details?: { problems: string[] } }) => {
        const problems = err.details!.problems;
        assert.equal(problems.length, 2);
        assert.match(problems[0]!, /TGLENS_DATA_DIR=" ": must not be empty/);
        assert.match(problems[1]!, /TGLENS_HOST=0\.0\.0\.0 listens beyond this machine/);
        return true;
      },
    );
  });

  it("takes TELEGRAM_API_ID up to the int32 maximum, not one more", () => {
    assert.equal(loadConfig({ TELEGRAM_API_ID: "2147483647" }).telegram.apiId, 2147483647);
    assert.throws(() => loadConfig({ TELEGRAM_API_ID: "2147483648" }), /TELEGRAM_API_ID="2147483648": must be an integer from 1 to 2147483647/);
  });
});

/**
 * Every variable the code reads is a setting: the product's (services, CLI, scripts) are in the
 * settings table the README shows, and those of tests and benchmarks are at least not refused by
 * loadConfig, which a process they start would otherwise do.
 */
describe("environment variables read by the code", () => {
  const root = path.resolve(import.meta.dirname, "../../..");
  const self = path.relative(root, import.meta.filename);
  const PRODUCT = ["services/", "cli/", "scripts/", "bin/", ".ci/"];
  const OURS = /^(TGLENS|TELEGRAM|KAFKA)_/;
  // Reads in code (`process.env.X`, `env.X`, `env["X"]`) and in shell (`${X:-default}`).
  const codeRead = /\benv(?:\.([A-Z][A-Z0-9_]*)\b|\[\s*["'`]([A-Z][A-Z0-9_]*)["'`]\s*\])/g;
  const shellRead = /\$\{([A-Z][A-Z0-9_]*):?-/g;

  function sources(dir: string): string[] {
    return fs.readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((e) => {
      const rel = path.join(dir, e.name);
      if (e.isDirectory()) return ["node_modules", "fixtures"].includes(e.name) ? [] : sources(rel);
      return /\.(ts|js|mjs|sh)$/.test(e.name) || ["bin/tglens", ".ci/run"].includes(rel) ? [rel] : [];
    });
  }

  /** name → the files that read it. */
  const reads = new Map<string, string[]>();
  for (const file of ["services", "cli", "scripts", "bin", ".ci", "bench", "test"].flatMap(sources)) {
    if (file === self) continue;
    const text = fs.readFileSync(path.join(root, file), "utf8");
    for (const m of [...text.matchAll(codeRead), ...(/\.sh$|^bin\/|^\.ci\//.test(file) ? text.matchAll(shellRead) : [])]) {
      const name = m[1] ?? m[2]!;
      if (OURS.test(name)) reads.set(name, [...(reads.get(name) ?? []), file]);
    }
  }
  const documented = new Set(settingsTable().map((s) => s.env));

  it("finds the reads it checks", () => {
    assert.deepEqual(reads.get("TGLENS_MAVEN_URL"), ["services/embedder/model-files.ts"]);
    assert.ok(reads.get("TGLENS_SKIP_POSTINSTALL")?.includes("scripts/postinstall.sh"));
  });

  it("finds every variable the product reads in the settings table", () => {
    const missing = [...reads].filter(([name, files]) => {
      // scripts/kafka.sh is a tool of its own; its header lists its settings.
      const product = files.filter((f) => PRODUCT.some((p) => f.startsWith(p)) && f !== "scripts/kafka.sh");
      return product.length > 0 && !documented.has(name);
    });
    assert.deepEqual(missing, []);
  });

  it("lists every variable scripts/kafka.sh reads in its header", () => {
    const text = fs.readFileSync(path.join(root, "scripts/kafka.sh"), "utf8");
    const header = text.slice(0, text.indexOf("set -euo pipefail"));
    const names = [...reads].filter(([, files]) => files.includes("scripts/kafka.sh")).map(([name]) => name);
    assert.ok(names.length > 0);
    for (const name of names) assert.match(header, new RegExp(`#\\s+${name}\\s`), name);
  });

  it("does not refuse any TGLENS_ variable that tests or benchmarks read", () => {
    for (const name of [...reads.keys()].filter((n) => n.startsWith("TGLENS_"))) {
      const problems = (() => {
        try {
          loadConfig({ [name]: "1" });
          return [];
        } catch (err) {
          return (err as { details?: { problems: string[] } }).details?.problems ?? [];
        }
      })();
      assert.ok(!problems.some((p) => p.startsWith(`${name}: unknown setting`)), `${name} (read by ${reads.get(name)!.join(", ")}) is refused`);
    }
  });
});

describe("config: API access", () => {
  const TOKEN = "0123456789abcdef0123456789abcdef";
  const problemsOf = (env: Record<string, string>): string[] => {
    try {
      loadConfig(env);
    } catch (err) {
      return (err as { details: { problems: string[] } }).details.problems;
    }
    return [];
  };

  it("refuses to listen beyond loopback without an API token, saying which variable to set", () => {
    for (const host of ["0.0.0.0", "::", "192.168.1.20", "tglens.lan"]) {
      const problems = problemsOf({ TGLENS_HOST: host });
      assert.equal(problems.length, 1, host);
      assert.match(problems[0]!, /TGLENS_HOST=.* listens beyond this machine.*TGLENS_API_TOKEN/);
    }
    assert.equal(problemsOf({ TGLENS_HOST: "0.0.0.0", TGLENS_API_READ_TOKEN: TOKEN }).length, 1, "a read token alone is not enough");
    assert.equal(loadConfig({ TGLENS_HOST: "0.0.0.0", TGLENS_API_TOKEN: TOKEN }).access.adminToken, TOKEN);
    for (const host of ["127.0.0.1", "localhost", "::1"]) assert.equal(loadConfig({ TGLENS_HOST: host }).access.adminToken, undefined, host);
  });

  it("refuses weak or identical tokens without ever showing their value", () => {
    const weak = "hunter2hunter2";
    const problems = problemsOf({ TGLENS_API_TOKEN: weak, TGLENS_API_READ_TOKEN: `${TOKEN} x` });
    assert.equal(problems.length, 2);
    assert.match(problems.join("\n"), /TGLENS_API_TOKEN=<hidden>: must be 16/);
    assert.doesNotMatch(problems.join("\n"), new RegExp(`${weak}|${TOKEN}`));
    const same = problemsOf({ TGLENS_API_TOKEN: TOKEN, TGLENS_API_READ_TOKEN: TOKEN });
    assert.equal(same.length, 1);
    assert.match(same[0]!, /must differ/);
    assert.doesNotMatch(same[0]!, new RegExp(TOKEN));
  });

  it("allows the Host names the deployment is reached by: its host, the service URLs', the webhook's and TGLENS_ALLOWED_HOSTS", () => {
    const config = loadConfig({
      TGLENS_HOST: "0.0.0.0",
      TGLENS_API_TOKEN: TOKEN,
      TGLENS_STORAGE_URL: "http://storage:8004",
      TGLENS_EMBEDDER_URL: "http://10.0.0.7:8003",
      TGLENS_ALLOWED_HOSTS: "tglens.example.com, Search.Example.ORG",
      TELEGRAM_WEBHOOK_URL: "https://hook.example.net/telegram/webhook",
      TELEGRAM_WEBHOOK_SECRET: "s3cret-s3cret",
    });
    for (const name of ["storage", "10.0.0.7", "127.0.0.1", "tglens.example.com", "search.example.org", "hook.example.net"]) {
      assert.ok(config.access.allowedHosts.includes(name), name);
    }
    assert.equal(config.access.allowedHosts.includes("0.0.0.0"), false, "a wildcard address is no Host name");
    assert.match(problemsOf({ TGLENS_ALLOWED_HOSTS: "https://x.example" })[0]!, /TGLENS_ALLOWED_HOSTS=.*host names without port or scheme/);
    assert.match(problemsOf({ TGLENS_ALLOWED_HOSTS: "x.example:8000" })[0]!, /without port/);
    assert.deepEqual(
      loadConfig({ TGLENS_ALLOWED_HOSTS: "" }).access.allowedHosts,
      ["127.0.0.1"],
      "empty (as compose passes an unset one) is no extra name",
    );
  });
});
