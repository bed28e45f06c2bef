/**
 * Moving between the app's pages without reloading: the address bar is the state (history
 * pushState/replaceState), and every component that reads it re-renders when it changes, by a
 * link, a search, or the back and forward buttons.
 */
import { useEffect, useState } from "preact/hooks";

export interface Place {
  path: string;
  params: URLSearchParams;
  /** What navigate() was given with this entry (kept across back and forward), or null. */
  state: unknown;
}

const CHANGED = "tglens:navigate";

function here(): Place {
  return { path: location.pathname, params: new URLSearchParams(location.search), state: history.state as unknown };
}

export interface NavigateOptions {
  /** Change the current history entry instead of adding one (the back button skips it). */
  replace?: boolean;
  state?: unknown;
}

export function navigate(href: string, opts: NavigateOptions = {}): void {
  const url = new URL(href, location.href);
  if (url.origin !== location.origin) {
    location.assign(url.href);
    return;
  }
  const state = opts.state ?? null;
  if (opts.replace) history.replaceState(state, "", url.href);
  else history.pushState(state, "", url.href);
  window.dispatchEvent(new Event(CHANGED));
}

/** The current place, re-rendering the caller on every change. */
export function useLocation(): Place {
  const [place, setPlace] = useState(here);
  useEffect(() => {
    const update = () => setPlace(here());
    window.addEventListener("popstate", update);
    window.addEventListener(CHANGED, update);
    return () => {
      window.removeEventListener("popstate", update);
      window.removeEventListener(CHANGED, update);
    };
  }, []);
  return place;
}

/** For a link's click: an ordinary click moves within the app; a middle or modified click does what the browser does. */
export function followLink(event: MouseEvent, state?: unknown): void {
  const link = event.currentTarget as HTMLAnchorElement;
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  if (link.target !== "" || link.origin !== location.origin) return;
  event.preventDefault();
  navigate(link.href, { state });
}
