/** How to match: by meaning (the embeddings), by the words (full-text), or both fused. */
import { html } from "htm/preact";
import { SEARCH_MODES, type SearchMode } from "../lib/search-state.ts";

const LABELS: Record<SearchMode, { label: string; hint: string }> = {
  semantic: { label: "Meaning", hint: "messages that say the same thing in other words" },
  hybrid: { label: "Both", hint: "meaning and words together" },
  keyword: { label: "Words", hint: "messages with these exact words" },
};

export function ModeSwitch({ mode, onChange }: { mode: SearchMode; onChange(mode: SearchMode): void }) {
  return html`
    <fieldset class="mode-switch">
      <legend class="visually-hidden">Match by</legend>
      ${SEARCH_MODES.map(
        (m) => html`
          <label class="mode" title=${LABELS[m].hint}>
            <input type="radio" name="mode" value=${m} checked=${m === mode} onChange=${() => onChange(m)} />
            <span>${LABELS[m].label}</span>
          </label>
        `,
      )}
    </fieldset>
  `;
}
