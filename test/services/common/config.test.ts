import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { loadConfig } from "../../../services/common/config.ts";

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
});
