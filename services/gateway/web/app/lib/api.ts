/**
 * The page's way to the API: the same typed client the CLI and the bot use (api/client.ts),
 * pointed at the gateway that served the page, with the API token when the server asks for one.
 */
import { ApiClient } from "../../../api/client.ts";
import { isTglensError } from "../../../../common/errors.ts";

export function browserClient(token: string | undefined): ApiClient {
  return new ApiClient({ gateway: location.origin }, token);
}

/** The server wants a token, or another one. */
export function isUnauthorized(err: unknown): boolean {
  return isTglensError(err) && err.code === "TGLENS_UNAUTHORIZED";
}

/** An API error as a person reads it. */
export function errorText(err: unknown): string {
  if (isTglensError(err)) return err.message;
  return err instanceof Error ? err.message : String(err);
}
