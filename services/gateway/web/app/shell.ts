/**
 * The app around the pages: the API client (with the token, when the server asks for one), the
 * list of chats every page uses, the navigation bar, and which page the address names. A refused
 * token, on any call, forgets the kept one and asks again.
 */
import { html } from "htm/preact";
import { useCallback, useEffect, useMemo, useState } from "preact/hooks";
import type { ChatSummary } from "../../api/client.ts";
import { NavBar } from "./components/nav-bar.ts";
import { TokenPrompt } from "./components/token-prompt.ts";
import { browserClient, isUnauthorized } from "./lib/api.ts";
import { pageAt, type PageName } from "./lib/pages.ts";
import { useLocation } from "./lib/router.ts";
import { forgetToken, storedToken, storeToken, type TokenStorage } from "./lib/token-store.ts";
import { AnalyticsPage } from "./pages/analytics-page.ts";
import { ChatsPage } from "./pages/chats-page.ts";
import { ContextPage } from "./pages/context-page.ts";
import type { PageProps } from "./pages/page-props.ts";
import { SearchPage } from "./pages/search-page.ts";

const PAGE_VIEWS: Record<PageName, (props: PageProps) => unknown> = {
  search: SearchPage,
  context: ContextPage,
  chats: ChatsPage,
  analytics: AnalyticsPage,
};

const PAGE_TITLES: Record<PageName, string> = { search: "Search", context: "Message", chats: "Chats", analytics: "Analytics" };

/** localStorage, unless the browser refuses it (reading the property can throw). */
function browserStorage(): TokenStorage | undefined {
  try {
    return window.localStorage;
  } catch {
    return undefined;
  }
}

export function App() {
  const storage = useMemo(browserStorage, []);
  // An object, so that giving the same token again still makes a new client (and calls again).
  const [auth, setAuth] = useState(() => ({ token: storedToken(storage) }));
  const [asking, setAsking] = useState<"no" | "first" | "again">("no");
  const api = useMemo(() => browserClient(auth.token), [auth]);
  const [chats, setChats] = useState<readonly ChatSummary[]>([]);

  const reportError = useCallback(
    (err: unknown) => {
      if (!isUnauthorized(err)) return;
      forgetToken(storage);
      setAsking(auth.token === undefined ? "first" : "again");
    },
    [storage, auth],
  );
  useEffect(() => {
    let current = true;
    api.chats().then(
      (list) => current && setChats(list),
      (err: unknown) => current && reportError(err),
    );
    return () => {
      current = false;
    };
  }, [api]);

  const place = useLocation();
  const page = pageAt(place.path) ?? "search";
  useEffect(() => {
    document.title = `${PAGE_TITLES[page]} · tglens`;
  }, [page]);

  if (asking !== "no") {
    const onToken = (value: string) => {
      storeToken(storage, value);
      setAuth({ token: value });
      setAsking("no");
    };
    return html`<${TokenPrompt} refused=${asking === "again"} onToken=${onToken} />`;
  }
  const View = PAGE_VIEWS[page];
  return html`
    <${NavBar} page=${page} />
    <main id="main" tabindex="-1">
      <${View} key=${page} api=${api} chats=${chats} place=${place} reportError=${reportError} />
    </main>
  `;
}
