/**
 * The search page by keyboard: `/` (outside a field) goes to the search box; the down and up
 * arrows go from the box through the results and back; Escape returns to the box; Enter on a
 * result opens it (it is a link).
 */
import type { RefObject } from "preact";
import { useEffect } from "preact/hooks";

const RESULT = ".hit-open";

function typingIn(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName);
}

export function useResultKeys(box: RefObject<HTMLInputElement | null>, list: RefObject<HTMLElement | null>): void {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey) return;
      const input = box.current;
      if (!input) return;
      if (e.key === "/" && !typingIn(e.target)) {
        e.preventDefault();
        input.focus();
        input.select();
        return;
      }
      const results = list.current ? [...list.current.querySelectorAll<HTMLElement>(RESULT)] : [];
      const at = results.indexOf(document.activeElement as HTMLElement);
      const inBox = document.activeElement === input;
      if (!inBox && at < 0) return;
      let next: HTMLElement | undefined;
      if (e.key === "ArrowDown") next = results[at + 1];
      else if (e.key === "ArrowUp") next = at > 0 ? results[at - 1] : at === 0 ? input : undefined;
      else if (e.key === "Escape" && at >= 0) next = input;
      if (!next) return;
      e.preventDefault();
      next.focus();
      if (next !== input) next.scrollIntoView({ block: "nearest" });
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [box, list]);
}
