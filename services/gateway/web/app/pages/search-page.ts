/**
 * The search page (`/`): the box, how to match, the filters, and the results as they come. The
 * URL holds the search (search-state.ts): typing updates it after a pause, and a pause-separated
 * burst of typing is one history entry, so back goes to the previous search, not the previous
 * letter; a mode or filter change is an entry of its own.
 */
import { html } from "htm/preact";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { ApiClient } from "../../../api/client.ts";
import { Filters } from "../components/filters.ts";
import { ModeSwitch } from "../components/mode-switch.ts";
import { ResultList } from "../components/result-list.ts";
import { SearchBox } from "../components/search-box.ts";
import { plural } from "../lib/format.ts";
import { PAGES } from "../lib/pages.ts";
import { navigate } from "../lib/router.ts";
import { parseSearch, sameSearch, searchQueryString, type SearchState } from "../lib/search-state.ts";
import { useResultKeys } from "../lib/use-result-keys.ts";
import { useSearch } from "../lib/use-search.ts";
import type { PageProps } from "./page-props.ts";

/** The pause in typing after which the search runs. */
export const TYPING_PAUSE_MS = 250;
/** Typing within this long of the last search's URL replaces it instead of adding to history. */
const SAME_ENTRY_MS = 3000;

/** What a search page's history entry remembers. */
interface EntryState {
  typing: boolean;
  at: number;
}

function goTo(next: SearchState, typing: boolean): void {
  const last = history.state as Partial<EntryState> | null;
  const replace = typing && last?.typing === true && Date.now() - (last.at ?? 0) < SAME_ENTRY_MS;
  navigate(PAGES.search + searchQueryString(next), { replace, state: { typing, at: Date.now() } satisfies EntryState });
}

/** Sender names to suggest: the chosen chat's most active, then those among the results. */
function useSenders(api: ApiClient, chat: string, found: readonly (string | null)[]): string[] {
  const [top, setTop] = useState<string[]>([]);
  useEffect(() => {
    let current = true;
    setTop([]);
    if (chat !== "")
      api.chatStats(chat).then(
        (stats) => current && setTop(stats.top_senders.flatMap((s) => (s.sender ? [s.sender] : []))),
        () => {},
      );
    return () => {
      current = false;
    };
  }, [api, chat]);
  return useMemo(() => [...new Set([...top, ...found.flatMap((s) => (s ? [s] : []))])], [top, found]);
}

export function SearchPage({ api, chats, place, reportError }: PageProps) {
  const state = parseSearch(place.params);
  const latest = useRef(state);
  latest.current = state;
  const [text, setText] = useState(state.q);
  const sent = useRef(state.q);
  const timer = useRef<ReturnType<typeof setTimeout>>(undefined);
  const box = useRef<HTMLInputElement>(null);
  const list = useRef<HTMLOListElement>(null);
  useResultKeys(box, list);

  // The URL changed by other means than typing (back, forward, a link): the box shows its query.
  useEffect(() => {
    if (state.q !== sent.current) {
      clearTimeout(timer.current);
      sent.current = state.q;
      setText(state.q);
    }
  }, [state.q]);
  useEffect(() => () => clearTimeout(timer.current), []);
  useEffect(() => box.current?.focus(), []);

  const update = (patch: Partial<SearchState>, typing = false) => {
    const next = { ...latest.current, ...patch };
    if (patch.q !== undefined) sent.current = patch.q;
    if (!sameSearch(next, latest.current)) goTo(next, typing);
  };
  const onInput = (value: string) => {
    setText(value);
    clearTimeout(timer.current);
    timer.current = setTimeout(() => update({ q: value }, true), TYPING_PAUSE_MS);
  };
  const onSubmit = () => {
    clearTimeout(timer.current);
    update({ q: text });
  };

  const outcome = useSearch(api, state, reportError);
  const senders = useSenders(
    api,
    state.chat,
    useMemo(() => outcome.hits.map((h) => h.sender), [outcome.hits]),
  );
  const messages = chats.reduce((sum, c) => sum + c.messages, 0);
  const idleText =
    chats.length === 0 ? "Search your chats by meaning or by words." : `Search ${plural(messages, "message")} in ${plural(chats.length, "chat")}.`;

  return html`
    <section class="search-page" aria-label="Search">
      <${SearchBox} value=${text} inputRef=${box} onInput=${onInput} onSubmit=${onSubmit} />
      <div class="search-options">
        <${ModeSwitch} mode=${state.mode} onChange=${(mode: SearchState["mode"]) => update({ mode })} />
        <${Filters} state=${state} chats=${chats} senders=${senders} onChange=${(patch: Partial<SearchState>) => update(patch)} />
      </div>
      <${ResultList} outcome=${outcome} listRef=${list} idleText=${idleText} />
    </section>
  `;
}
