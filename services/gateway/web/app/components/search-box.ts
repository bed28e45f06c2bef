/** The one box: what to look for. `/` anywhere on the page comes here (use-result-keys.ts). */
import type { RefObject } from "preact";
import { html } from "htm/preact";

export interface SearchBoxProps {
  value: string;
  inputRef: RefObject<HTMLInputElement | null>;
  onInput(value: string): void;
  /** Enter: search now, without waiting for the pause in typing. */
  onSubmit(): void;
}

export function SearchBox({ value, inputRef, onInput, onSubmit }: SearchBoxProps) {
  const submit = (e: Event) => {
    e.preventDefault();
    onSubmit();
  };
  return html`
    <form class="search-box" role="search" onSubmit=${submit}>
      <label for="q" class="visually-hidden">Search messages</label>
      <input
        id="q"
        ref=${inputRef}
        type="search"
        name="q"
        value=${value}
        placeholder="Search by meaning or words (press / to come back here)"
        autocomplete="off"
        spellcheck=${false}
        enterkeyhint="search"
        aria-describedby="search-status"
        onInput=${(e: Event) => onInput((e.currentTarget as HTMLInputElement).value)}
      />
    </form>
  `;
}
