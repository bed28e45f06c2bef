/**
 * Asks for the API token when the server wants one (TGLENS_API_TOKEN is set), once: the token is
 * then kept in the browser (token-store.ts). Said again, with why, when the server refused it.
 */
import { html } from "htm/preact";
import { useEffect, useRef, useState } from "preact/hooks";

export interface TokenPromptProps {
  /** A token was sent and refused. */
  refused: boolean;
  onToken(token: string): void;
}

export function TokenPrompt({ refused, onToken }: TokenPromptProps) {
  const [value, setValue] = useState("");
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);
  const submit = (e: Event) => {
    e.preventDefault();
    if (value.trim() !== "") onToken(value.trim());
  };
  return html`
    <main id="main" class="token-page">
      <form class="token-form" onSubmit=${submit} aria-labelledby="token-title">
        <h1 id="token-title">tglens</h1>
        <p>
          This server asks for its API token: the value of <code>TGLENS_API_TOKEN</code>, or of <code>TGLENS_API_READ_TOKEN</code> to search only. It
          is kept in this browser.
        </p>
        <label for="token">API token</label>
        <input
          id="token"
          ref=${input}
          type="password"
          autocomplete="current-password"
          required
          value=${value}
          onInput=${(e: Event) => setValue((e.currentTarget as HTMLInputElement).value)}
          aria-invalid=${refused ? "true" : undefined}
          aria-describedby=${refused ? "token-refused" : undefined}
        />
        ${refused ? html`<p id="token-refused" class="error" role="alert">The server refused that token.</p>` : null}
        <button type="submit">Continue</button>
      </form>
    </main>
  `;
}
