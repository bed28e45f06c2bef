/** A link to a page of the app: followed without a reload (router.ts), opened as usual in a new tab. */
import type { ComponentChildren } from "preact";
import { html } from "htm/preact";
import { followLink } from "../lib/router.ts";

export interface LinkProps {
  href: string;
  /** Kept with the history entry the link makes (the page it opens may read it). */
  state?: unknown;
  class?: string;
  children?: ComponentChildren;
  [attribute: string]: unknown;
}

export function Link({ href, state, children, ...attributes }: LinkProps) {
  return html`<a href=${href} onClick=${(e: MouseEvent) => followLink(e, state)} ...${attributes}>${children}</a>`;
}
