/** The API token kept in the browser, and in memory where storage is refused. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { forgetToken, storedToken, storeToken, type TokenStorage } from "../../../../../../services/gateway/web/app/lib/token-store.ts";

function memoryStorage(): TokenStorage & { items: Map<string, string> } {
  const items = new Map<string, string>();
  return { items, getItem: (k) => items.get(k) ?? null, setItem: (k, v) => void items.set(k, v), removeItem: (k) => void items.delete(k) };
}
const refusing: TokenStorage = {
  getItem: () => {
    throw new Error("SecurityError");
  },
  setItem: () => {
    throw new Error("QuotaExceededError");
  },
  removeItem: () => {
    throw new Error("SecurityError");
  },
};

describe("web app: token store", () => {
  it("keeps the token in storage until it is forgotten", () => {
    const storage = memoryStorage();
    assert.equal(storedToken(storage), undefined);
    storeToken(storage, "secret-token");
    assert.deepEqual([...storage.items.values()], ["secret-token"]);
    assert.equal(storedToken(memoryStorage()), "secret-token", "this page's copy, for a storage that lost it");
    assert.equal(storedToken(storage), "secret-token");
    forgetToken(storage);
    assert.equal(storedToken(storage), undefined);
    assert.equal(storage.items.size, 0);
  });

  it("keeps it in memory for the page's life where storage is refused", () => {
    storeToken(refusing, "only-here");
    assert.equal(storedToken(refusing), "only-here");
    assert.equal(storedToken(undefined), "only-here");
    forgetToken(refusing);
    assert.equal(storedToken(refusing), undefined);
  });
});
