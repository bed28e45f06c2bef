import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import path from "node:path";
import { checkpointFile, chatFile, deletePreprocessorChatFile, deleteScraperChatFiles } from "../../../services/common/data-files.ts";
import { snapshotDir, tempDir } from "../../helpers/system.ts";

async function touch(file: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, "{}\n");
}

describe("data files", () => {
  it("forgetting a chat removes the scraper's raw file and checkpoint and the preprocessor's file, nothing else", async () => {
    const dir = await tempDir("data-files");
    for (const chat of ["42", "43"]) {
      await touch(chatFile(dir, "raw", chat));
      await touch(chatFile(dir, "preprocessed", chat));
      await touch(checkpointFile(dir, chat));
    }
    assert.deepEqual(await deleteScraperChatFiles(dir, "42"), { raw: 1, checkpoints: 1 });
    assert.deepEqual(await snapshotDir(dir), ["checkpoints/43.json:3", "preprocessed/42.jsonl:3", "preprocessed/43.jsonl:3", "raw/43.jsonl:3"]);
    assert.equal(await deletePreprocessorChatFile(dir, "42"), 1);
    assert.deepEqual(await snapshotDir(dir), ["checkpoints/43.json:3", "preprocessed/43.jsonl:3", "raw/43.jsonl:3"]);
    assert.deepEqual(await deleteScraperChatFiles(dir, "42"), { raw: 0, checkpoints: 0 }, "nothing left to remove");
    assert.equal(await deletePreprocessorChatFile(dir, "42"), 0);
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("refuses a chat id that is not a number, removing nothing", async () => {
    const dir = await tempDir("data-files");
    await touch(chatFile(dir, "raw", "43"));
    await assert.rejects(deleteScraperChatFiles(dir, "../43"), { code: "TGLENS_BAD_REQUEST" });
    await assert.rejects(deletePreprocessorChatFile(dir, "../43"), { code: "TGLENS_BAD_REQUEST" });
    assert.deepEqual(await snapshotDir(dir), ["raw/43.jsonl:3"]);
    await fs.rm(dir, { recursive: true, force: true });
  });
});
