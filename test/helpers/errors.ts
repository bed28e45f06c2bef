import assert from "node:assert/strict";
import { TglensError } from "../../services/common/errors.ts";

/** Awaits a promise that must reject with a TglensError of `code`; returns the error for more checks. */
export async function rejectsWith(promise: Promise<unknown>, code: string): Promise<TglensError> {
  let caught: unknown;
  await promise.catch((err: unknown) => (caught = err));
  assert.ok(caught instanceof TglensError, `expected ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code);
  return caught;
}
