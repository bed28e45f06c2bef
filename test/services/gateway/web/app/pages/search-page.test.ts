/**
 * The search page in a real browser (Debian's Chromium through puppeteer-core) against a real
 * embedded tglens with the team-chat fixture: searching from the box and from a URL, the needle
 * among the results with its words marked and its score in words, the mode switch, the filters,
 * the back button, the keyboard, dark mode and a phone's width, with no console error anywhere.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import path from "node:path";
import type { Page } from "puppeteer-core";
import { browserSkip, inPage, resultsFor, startWebSystem, type WebSystem } from "../../../../../helpers/browser.ts";
import { FIXTURE_EXPORTS } from "../../../../../helpers/fixtures.ts";

interface Needle {
  file: string;
  message_id: number;
  query: string;
  mode: "semantic" | "keyword";
  text: string;
}

const expectations = JSON.parse(await fs.readFile(path.join(FIXTURE_EXPORTS, "expectations.json"), "utf8")) as { needles: Needle[] };
const needles = expectations.needles.filter((n) => n.file === "team-chat/result.json");
const semantic = needles.find((n) => n.mode === "semantic")!;
const keyword = needles.find((n) => n.mode === "keyword")!;
const qs = (params: Record<string, string>) => `?${new URLSearchParams(params)}`;

let web: WebSystem;
const open = (page: Page, query = "") => page.goto(`${web.tglens.url}/${query}`, { waitUntil: "networkidle0" });
const test = (name: string, fn: (page: Page) => Promise<void>, opts?: Parameters<typeof inPage>[3]) =>
  it(name, () => inPage(web.browser, `search-page ${name}`, fn, opts));
const value = (page: Page, selector: string) => page.$eval(selector, (el) => (el as { value: string }).value);
const focusedId = (page: Page) => page.evaluate("document.activeElement?.id ?? ''");
const setDate = (page: Page, selector: string, day: string) =>
  page.$eval(
    selector,
    (el, v) => {
      (el as { value: string }).value = v;
      el.dispatchEvent(new Event("change", { bubbles: true }));
    },
    day,
  );

describe("web app: the search page", { skip: browserSkip() }, () => {
  before(async () => {
    web = await startWebSystem();
  });
  after(() => web?.close());

  test("searches from the box as one types, and puts the search in the URL", async (page) => {
    await open(page);
    assert.equal(await focusedId(page), "q", "the box has the focus");
    await page.type("#q", semantic.query);
    const results = await resultsFor(page, qs({ q: semantic.query }));
    assert.equal(new URL(page.url()).search, qs({ q: semantic.query }));
    assert.equal(results[0]?.messageId, semantic.message_id, JSON.stringify(results.slice(0, 3)));
    assert.equal(results[0]!.text, semantic.text);
    assert.ok(results[0]!.sender !== "" && results[0]!.chat === "Kreuzberg Crew 🍻", JSON.stringify(results[0]));
    assert.match(results[0]!.why, /^semantic (close|related) in meaning \(cosine similarity 0\.\d\d\)$/);
    const link = await page.$eval(".hit a.telegram", (el) => el.getAttribute("href"));
    assert.equal(link, `https://t.me/c/1498765432/${semantic.message_id}`, "a private supergroup's message link");
    const time = await page.$eval(".hit time", (el) => el.getAttribute("datetime"));
    assert.match(String(time), /^\d{4}-\d\d-\d\dT/);
  });

  test("searches from a URL, marks the query's words, and explains a keyword hit", async (page) => {
    await open(page, qs({ q: keyword.query, mode: "keyword" }));
    const results = await resultsFor(page, qs({ q: keyword.query, mode: "keyword" }));
    assert.equal(await value(page, "#q"), keyword.query);
    assert.equal(await page.$eval("input[name=mode][value=keyword]", (el) => (el as { checked: boolean }).checked), true);
    assert.equal(results[0]?.messageId, keyword.message_id);
    assert.deepEqual(results[0]!.marked, [keyword.query]);
    assert.match(results[0]!.why, /^keyword has the words \(keyword rank \d+\.\d\d\)$/);
  });

  test("switches the mode, each mode a history entry of its own", async (page) => {
    await open(page, qs({ q: keyword.query }));
    await resultsFor(page, qs({ q: keyword.query }));
    await page.click("label.mode:has(input[value=hybrid])");
    const hybrid = await resultsFor(page, qs({ q: keyword.query, mode: "hybrid" }));
    assert.equal(hybrid[0]?.messageId, keyword.message_id);
    assert.match(hybrid[0]!.why, /^both found by its words and its meaning \(fused rank 0\.\d{4}\)$/);
    await page.goBack();
    await resultsFor(page, qs({ q: keyword.query }));
    assert.equal(await page.$eval("input[name=mode][value=semantic]", (el) => (el as { checked: boolean }).checked), true);
  });

  test("filters by sender, chat (by name) and days, with suggestions", async (page) => {
    const q = semantic.query;
    await open(page, qs({ q }));
    const all = await resultsFor(page, qs({ q }));
    const needle = all.find((r) => r.messageId === semantic.message_id)!;
    const others = new Set(all.map((r) => r.sender));
    assert.ok(others.size > 1, "the unfiltered results have several senders");

    await page.type("#filter-sender", needle.sender);
    await page.keyboard.press("Enter");
    const bySender = await resultsFor(page, qs({ q, sender: needle.sender }));
    assert.ok(bySender.length > 0 && bySender.every((r) => r.sender === needle.sender), JSON.stringify(bySender.map((r) => r.sender)));
    const suggested = await page.$$eval("#filter-sender-options option", (options) => options.map((o) => (o as { value: string }).value));
    assert.ok(suggested.includes(needle.sender), JSON.stringify(suggested));

    await page.type("#filter-chat", "no such chat");
    await page.keyboard.press("Enter");
    assert.match(await page.$eval("#filter-chat-problem", (el) => el.textContent ?? ""), /No chat is called/);
    assert.equal(new URL(page.url()).searchParams.get("chat"), null, "an unknown chat filters nothing");
    await page.$eval("#filter-chat", (el) => ((el as { value: string }).value = ""));
    await page.type("#filter-chat", "kreuzberg");
    await page.keyboard.press("Enter");
    await resultsFor(page, qs({ q, chat: "1498765432", sender: needle.sender }));
    assert.equal(await value(page, "#filter-chat"), "Kreuzberg Crew 🍻");
    assert.deepEqual(await page.$$eval("#filter-chat-options option", (o) => o.map((x) => (x as { value: string }).value)), ["Kreuzberg Crew 🍻"]);

    const day = String(await page.$eval(`.hit[data-message-id="${semantic.message_id}"] time`, (el) => el.getAttribute("datetime"))).slice(0, 10);
    await setDate(page, "#filter-from", day);
    await setDate(page, "#filter-to", day);
    const byDay = await resultsFor(page, qs({ q, chat: "1498765432", sender: needle.sender, from: day, to: day }));
    assert.ok(
      byDay.some((r) => r.messageId === semantic.message_id),
      "a day is the whole day: the needle's own day finds it",
    );
    const days = await page.$$eval(".hit time", (els) => els.map((el) => el.getAttribute("datetime")?.slice(0, 10)));
    assert.deepEqual([...new Set(days)], [day]);

    await page.click("button.clear");
    await resultsFor(page, qs({ q }));
  });

  test("goes back to the previous search with the back button", async (page) => {
    await open(page, qs({ q: semantic.query }));
    const first = await resultsFor(page, qs({ q: semantic.query }));
    await page.click("#q", { count: 3 });
    await page.keyboard.press("Backspace");
    await page.type("#q", keyword.query);
    await resultsFor(page, qs({ q: keyword.query }));
    await page.goBack();
    const again = await resultsFor(page, qs({ q: semantic.query }));
    assert.equal(await value(page, "#q"), semantic.query);
    assert.deepEqual(
      again.map((r) => r.messageId),
      first.map((r) => r.messageId),
    );
  });

  test("is used by keyboard: / to the box, arrows through the results, Enter opens one in its context", async (page) => {
    await open(page, qs({ q: semantic.query }));
    await resultsFor(page, qs({ q: semantic.query }));
    await page.click(".status");
    await page.keyboard.press("/");
    assert.equal(await focusedId(page), "q");
    const focusedHit = () => page.evaluate("document.activeElement?.closest('.hit')?.getAttribute('data-message-id') ?? null");
    const ids = await page.$$eval(".hit", (els) => els.map((el) => el.getAttribute("data-message-id")));
    await page.keyboard.press("ArrowDown");
    assert.equal(await focusedHit(), ids[0]);
    await page.keyboard.press("ArrowDown");
    assert.equal(await focusedHit(), ids[1]);
    await page.keyboard.press("ArrowUp");
    await page.keyboard.press("ArrowUp");
    assert.equal(await focusedId(page), "q");
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("Enter");
    await page.waitForSelector(".context-page .message.marked");
    const url = new URL(page.url());
    assert.equal(url.pathname, "/context");
    assert.equal(url.searchParams.get("message"), ids[0]);
    assert.equal(await page.$eval(".message-text", (el) => el.textContent), semantic.text);
    await page.goBack();
    await resultsFor(page, qs({ q: semantic.query }));
  });

  test("keeps the results in place while a search loads", async (page) => {
    await open(page);
    const top = () => page.$eval(".results", (el) => Math.round(el.getBoundingClientRect().top));
    const idle = await top();
    await page.type("#q", semantic.query);
    await resultsFor(page, qs({ q: semantic.query }));
    assert.equal(await top(), idle, "the list starts where it started before any result");
  });

  test(
    "follows a dark system theme",
    async (page) => {
      await open(page);
      assert.equal(await page.evaluate("getComputedStyle(document.body).backgroundColor"), "rgb(15, 18, 22)");
      assert.equal(await page.evaluate("getComputedStyle(document.body).color"), "rgb(230, 233, 237)");
    },
    { colorScheme: "dark" },
  );

  test("is light under a light system theme", async (page) => {
    await open(page);
    assert.equal(await page.evaluate("getComputedStyle(document.body).backgroundColor"), "rgb(255, 255, 255)");
  });

  test(
    "fits a phone's width",
    async (page) => {
      await open(page, qs({ q: semantic.query }));
      await resultsFor(page, qs({ q: semantic.query }));
      assert.ok(Number(await page.evaluate("document.documentElement.scrollWidth")) <= 375, "no sideways scrolling");
      const box: number = await page.$eval("#q", (el) => el.getBoundingClientRect().width);
      assert.ok(box > 300, `the box is ${box}px wide`);
    },
    { width: 375, height: 740 },
  );

  test("labels every field", async (page) => {
    await open(page);
    const unlabelled = await page.$$eval("input", (inputs) =>
      inputs.filter((i) => (i as { labels: unknown[] | null }).labels?.length === 0).map((i) => i.outerHTML),
    );
    assert.deepEqual(unlabelled, []);
  });
});
