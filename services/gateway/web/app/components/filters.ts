/**
 * Narrowing a search: by chat and by sender (by name, with suggestions: the chats imported, the
 * senders of the chosen chat and of the results), and by a range of days (a day is the whole day,
 * in UTC). A filter applies when its field is left or Enter is pressed, not on every key.
 */
import { html } from "htm/preact";
import { useEffect, useState } from "preact/hooks";
import type { ChatSummary } from "../../../api/client.ts";
import { chatLabel, findChat } from "../lib/chats.ts";
import { formatDay } from "../lib/format.ts";
import { hasFilters, type SearchState } from "../lib/search-state.ts";
import { SuggestField } from "./suggest-field.ts";

export interface FiltersProps {
  state: SearchState;
  chats: readonly ChatSummary[];
  senders: readonly string[];
  onChange(patch: Partial<SearchState>): void;
}

const valueOf = (e: Event) => (e.currentTarget as HTMLInputElement).value;

function dayBounds(chats: readonly ChatSummary[]): { min?: string; max?: string } {
  const firsts = chats.flatMap((c) => (c.first_date ? [formatDay(c.first_date)] : [])).sort();
  const lasts = chats.flatMap((c) => (c.last_date ? [formatDay(c.last_date)] : [])).sort();
  return { min: firsts[0], max: lasts[lasts.length - 1] };
}

export function Filters({ state, chats, senders, onChange }: FiltersProps) {
  const [chatText, setChatText] = useState(() => (state.chat ? chatLabel(chats, state.chat) : ""));
  const [chatProblem, setChatProblem] = useState<string | undefined>();
  const [senderText, setSenderText] = useState(state.sender);
  useEffect(() => setSenderText(state.sender), [state.sender]);
  // The URL (a link, the back button) or the list of chats changed: show its chat.
  useEffect(() => {
    setChatText(state.chat ? chatLabel(chats, state.chat) : "");
    setChatProblem(undefined);
  }, [state.chat, chats]);

  const commitChat = (text: string) => {
    if (text.trim() === "") {
      setChatProblem(undefined);
      if (state.chat !== "") onChange({ chat: "" });
      return;
    }
    const match = findChat(chats, text);
    setChatProblem(match.problem);
    if (!match.chat) return;
    setChatText(chatLabel(chats, match.chat.chat_id));
    if (match.chat.chat_id !== state.chat) onChange({ chat: match.chat.chat_id });
  };
  const commitSender = (text: string) => {
    if (text.trim() !== state.sender) onChange({ sender: text.trim() });
  };
  const { min, max } = dayBounds(chats);

  return html`
    <fieldset class="filters">
      <legend class="visually-hidden">Filters</legend>
      <${SuggestField}
        id="filter-chat"
        label="Chat"
        placeholder="All chats"
        value=${chatText}
        suggestions=${chats.map((c) => ({ value: chatLabel(chats, c.chat_id), label: c.name }))}
        problem=${chatProblem}
        onInput=${setChatText}
        onCommit=${commitChat}
      />
      <${SuggestField}
        id="filter-sender"
        label="Sender"
        placeholder="Anyone"
        value=${senderText}
        suggestions=${senders.map((value) => ({ value }))}
        onInput=${setSenderText}
        onCommit=${commitSender}
      />
      <div class="field">
        <label for="filter-from">From</label>
        <input id="filter-from" type="date" min=${min} max=${max} value=${state.from} onChange=${(e: Event) => onChange({ from: valueOf(e) })} />
      </div>
      <div class="field">
        <label for="filter-to">To</label>
        <input id="filter-to" type="date" min=${min} max=${max} value=${state.to} onChange=${(e: Event) => onChange({ to: valueOf(e) })} />
      </div>
      <button type="button" class="clear" disabled=${!hasFilters(state)} onClick=${() => onChange({ chat: "", sender: "", from: "", to: "" })}>
        Clear filters
      </button>
    </fieldset>
  `;
}
