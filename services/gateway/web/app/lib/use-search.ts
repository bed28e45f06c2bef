/**
 * Runs the search a state describes, whenever it changes. While the next answer is on its way the
 * last one stays on screen (marked as loading), so the page does not jump; an answer that comes
 * after a newer search started is dropped, so a slow early query cannot overwrite a later one.
 */
import { useEffect, useState } from "preact/hooks";
import type { ApiClient, SearchHit } from "../../../api/client.ts";
import { errorText } from "./api.ts";
import { searchParams, searchQueryString, type SearchState } from "./search-state.ts";

export interface SearchOutcome {
  status: "idle" | "loading" | "done" | "error";
  hits: readonly SearchHit[];
  /** The search the hits answer. */
  searched?: SearchState;
  error?: string;
}

export function useSearch(api: ApiClient, state: SearchState, reportError: (err: unknown) => void): SearchOutcome {
  const [outcome, setOutcome] = useState<SearchOutcome>({ status: "idle", hits: [] });
  const key = searchQueryString(state);
  useEffect(() => {
    const params = searchParams(state);
    if (params === undefined) {
      setOutcome({ status: "idle", hits: [] });
      return;
    }
    let current = true;
    setOutcome((last) => ({ ...last, status: "loading" }));
    api.search(params).then(
      (hits) => {
        if (current) setOutcome({ status: "done", hits, searched: state });
      },
      (err: unknown) => {
        if (!current) return;
        reportError(err);
        setOutcome((last) => ({ ...last, status: "error", error: errorText(err) }));
      },
    );
    return () => {
      current = false;
    };
    // The state is compared by its URL form: a new object for the same search runs nothing.
  }, [api, key]);
  return outcome;
}
