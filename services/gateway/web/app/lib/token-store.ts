/**
 * The API token of a server that asks for one (TGLENS_API_TOKEN, or the read-only
 * TGLENS_API_READ_TOKEN): asked for once and kept in the browser's localStorage, so the page is
 * not in the way on the next visit. Where storage is refused (a private window may refuse it) the
 * token lasts as long as the page.
 */

const KEY = "tglens.apiToken";

/** The part of the Web Storage API used here (localStorage is one). */
export interface TokenStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

let inMemory: string | undefined;

export function storedToken(storage: TokenStorage | undefined): string | undefined {
  try {
    return storage?.getItem(KEY) ?? inMemory;
  } catch {
    return inMemory;
  }
}

export function storeToken(storage: TokenStorage | undefined, token: string): void {
  inMemory = token;
  try {
    storage?.setItem(KEY, token);
  } catch {
    // kept in memory only
  }
}

export function forgetToken(storage: TokenStorage | undefined): void {
  inMemory = undefined;
  try {
    storage?.removeItem(KEY);
  } catch {
    // nothing was kept
  }
}
