/**
 * A labelled text field with suggestions (a datalist) that applies what was typed when it is left
 * or Enter is pressed, not on every key; with a problem said under it when what was typed names
 * nothing.
 */
import { html } from "htm/preact";

export interface SuggestFieldProps {
  id: string;
  label: string;
  placeholder: string;
  value: string;
  /** Each suggestion: what it fills in, and what it shows when that differs. */
  suggestions: ReadonlyArray<{ value: string; label?: string }>;
  problem?: string | undefined;
  onInput(value: string): void;
  onCommit(value: string): void;
}

const valueOf = (e: Event) => (e.currentTarget as HTMLInputElement).value;

export function SuggestField({ id, label, placeholder, value, suggestions, problem, onInput, onCommit }: SuggestFieldProps) {
  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key !== "Enter") return;
    e.preventDefault();
    onCommit(valueOf(e));
  };
  return html`
    <div class="field wide">
      <label for=${id}>${label}</label>
      <input
        id=${id}
        type="search"
        list=${`${id}-options`}
        placeholder=${placeholder}
        autocomplete="off"
        value=${value}
        aria-invalid=${problem ? "true" : undefined}
        aria-describedby=${problem ? `${id}-problem` : undefined}
        onInput=${(e: Event) => onInput(valueOf(e))}
        onChange=${(e: Event) => onCommit(valueOf(e))}
        onKeyDown=${onKeyDown}
      />
      <datalist id=${`${id}-options`}>${suggestions.map((s) => html`<option value=${s.value} label=${s.label}></option>`)}</datalist>
      ${problem ? html`<p id=${`${id}-problem`} class="field-problem" role="alert">${problem}</p>` : null}
    </div>
  `;
}
