/** The bar above every page: the app's name and its pages, the current one marked for screen readers too. */
import { html } from "htm/preact";
import { pageHref, type PageName } from "../lib/pages.ts";
import { Link } from "./link.ts";

const ENTRIES: ReadonlyArray<[PageName, string]> = [
  ["search", "Search"],
  ["chats", "Chats"],
  ["analytics", "Analytics"],
];

export function NavBar({ page }: { page: PageName }) {
  return html`
    <header class="top">
      <a class="skip" href="#main">Skip to content</a>
      <${Link} class="brand" href=${pageHref("search")}>tglens</${Link}>
      <nav aria-label="Pages">
        ${ENTRIES.map(
          ([name, label]) =>
            html`<${Link} href=${pageHref(name)} class="nav-link" aria-current=${name === page ? "page" : undefined}>${label}</${Link}>`,
        )}
      </nav>
    </header>
  `;
}
