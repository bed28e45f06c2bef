/** A message's text with the query's words marked (highlight.ts says which). */
import { html } from "htm/preact";
import { highlight } from "../lib/highlight.ts";

export function Highlighted({ text, query }: { text: string; query: string }) {
  return html`${highlight(text, query).map((s) => (s.hit ? html`<mark>${s.text}</mark>` : s.text))}`;
}
