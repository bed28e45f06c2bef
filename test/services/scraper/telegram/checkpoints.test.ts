import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import { TglensError } from "../../../../services/common/errors.ts";
import { checkpointFile, checkpointsDir, readCheckpoint, writeCheckpoint } from "../../../../services/scraper/telegram/checkpoints.ts";
import { tempDir } from "../../../helpers/system.ts";

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
});

describe("checkpoints", () => {
  it("are written whole (temp file and rename) and read back; a chat without one has none", async () => {
    const dir = await tempDir("checkpoints");
    dirs.push(dir);
    assert.equal(await readCheckpoint(dir, "42"), undefined);
    await writeCheckpoint(dir, { chat_id: "42", last_message_id: 100, job_id: "j1", job_messages: 100 });
    await writeCheckpoint(dir, { chat_id: "42", last_message_id: 200, job_id: "j1", job_messages: 200 });
    const cp = await readCheckpoint(dir, "42");
    assert.deepEqual(
      { ...cp, updated_at: undefined },
      { chat_id: "42", last_message_id: 200, job_id: "j1", job_messages: 200, updated_at: undefined },
    );
    assert.ok(!Number.isNaN(Date.parse(cp!.updated_at)));
    assert.deepEqual(await fs.readdir(checkpointsDir(dir)), ["42.json"], "no temp file left");
  });

  it("refuse a checkpoint someone edited into nonsense rather than guess where to resume", async () => {
    const dir = await tempDir("checkpoints");
    dirs.push(dir);
    await writeCheckpoint(dir, { chat_id: "42", last_message_id: 1, job_id: "j", job_messages: 1 });
    await fs.writeFile(checkpointFile(dir, "42"), JSON.stringify({ chat_id: "42", last_message_id: "soon" }));
    await assert.rejects(
      readCheckpoint(dir, "42"),
      (err: unknown) => err instanceof TglensError && err.code === "TGLENS_INTERNAL" && /42\.json/.test(err.message),
    );
  });

  it("take only decimal chat ids as file names", () => {
    assert.throws(
      () => checkpointFile("/data", "../../etc/passwd"),
      (err: unknown) => err instanceof TglensError && err.code === "TGLENS_BAD_REQUEST",
    );
  });
});
