/**
 * Browser tests: puppeteer-core driving Debian's Chromium (`apt-get install chromium-headless-shell`;
 * Playwright's and puppeteer's own browser downloads cannot reach their CDNs here). When no Chromium
 * is found the browser tests skip, saying which package to install, and the rest of `npm test`
 * runs. Each test gets a fresh page in a browser context of its own (no shared localStorage);
 * a console error or an uncaught exception on the page fails it, and a failing test leaves a
 * screenshot in .cache/test-screenshots/.
 */
import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { buildWebBundle } from "../../services/gateway/web/build.ts";
import { GatewayClient } from "../../cli/client.ts";
import { TEAM_CHAT_EXPORT } from "./fixtures.ts";
import { startTestSystem, type TestSystem } from "./system.ts";

export const CHROMIUM_PACKAGE = "chromium-headless-shell";
const CANDIDATES = ["/usr/bin/chromium-headless-shell", "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];
const SCREENSHOTS = path.resolve(import.meta.dirname, "../../.cache/test-screenshots");

/** The Chromium to drive: PUPPETEER_EXECUTABLE_PATH when set, else the first of Debian's that is installed. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const given = env.PUPPETEER_EXECUTABLE_PATH;
  if (given) return existsSync(given) ? given : undefined;
  return CANDIDATES.find((file) => existsSync(file));
}

/** For `describe(name, { skip: browserSkip() }, ...)`: false with a Chromium, else why the tests skip. */
export function browserSkip(): string | false {
  return findChromium()
    ? false
    : `no Chromium found for the browser tests: install it with \`apt-get install ${CHROMIUM_PACKAGE}\` (or set PUPPETEER_EXECUTABLE_PATH)`;
}

export async function launchBrowser(): Promise<Browser> {
  const executablePath = findChromium();
  if (!executablePath) throw new Error(String(browserSkip()));
  return puppeteer.launch({
    executablePath,
    // Debian's headless shell is the old headless mode; a full Chromium runs the new one.
    headless: path.basename(executablePath).includes("headless-shell") ? "shell" : true,
    // CI runs as root, where Chromium's sandbox cannot start.
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"],
  });
}

export interface PageOptions {
  colorScheme?: "light" | "dark";
  width?: number;
  height?: number;
  /** Console errors a test expects (a 401 the page answers by asking for a token). */
  allowErrors?: RegExp[];
}

const fileSafe = (name: string) =>
  name
    .replace(/[^a-z0-9]+/gi, "-")
    .replace(/^-|-$/g, "")
    .slice(0, 100);

/**
 * Runs `fn` on a fresh page of `browser`; fails when the page logged an error, and saves a
 * screenshot (with the page's HTML beside it) when anything failed.
 */
export async function inPage(browser: Browser, name: string, fn: (page: Page) => Promise<void>, opts: PageOptions = {}): Promise<void> {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  const errors: string[] = [];
  const allowed = (text: string) => opts.allowErrors?.some((re) => re.test(text)) ?? false;
  page.on("console", (msg) => {
    if (msg.type() === "error" && !allowed(msg.text())) errors.push(`console: ${msg.text()} (${msg.location().url ?? "?"})`);
  });
  page.on("pageerror", (err) => errors.push(`uncaught: ${err instanceof Error ? err.message : String(err)}`));
  await page.setViewport({ width: opts.width ?? 1100, height: opts.height ?? 800 });
  await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: opts.colorScheme ?? "light" }]);
  try {
    await fn(page);
    if (errors.length > 0) throw new Error(`the page logged errors:\n${errors.join("\n")}`);
  } catch (err) {
    await fs.mkdir(SCREENSHOTS, { recursive: true });
    const base = path.join(SCREENSHOTS, fileSafe(name));
    await page.screenshot({ path: `${base}.png`, fullPage: true }).catch(() => {});
    await fs.writeFile(`${base}.html`, await page.content().catch(() => "")).catch(() => {});
    throw err;
  } finally {
    await context.close();
  }
}

export interface WebSystem {
  tglens: TestSystem;
  browser: Browser;
  close(): Promise<void>;
}

/**
 * A real embedded tglens with the team-chat fixture imported, the web bundle freshly built from
 * the sources (so a test never runs an old bundle), and a browser.
 */
export async function startWebSystem(env: Record<string, string> = {}): Promise<WebSystem> {
  await buildWebBundle();
  const tglens = await startTestSystem(env);
  try {
    const client = new GatewayClient(tglens.url, env.TGLENS_API_TOKEN);
    const accepted = await client.importFile(TEAM_CHAT_EXPORT);
    const job = await client.waitForJob(accepted.job_id, () => {}, 100);
    if (job.state !== "done") throw new Error(`the fixture import ended ${job.state}: ${JSON.stringify(job)}`);
    const browser = await launchBrowser();
    return {
      tglens,
      browser,
      async close() {
        await browser.close();
        await tglens.close();
      },
    };
  } catch (err) {
    await tglens.close();
    throw err;
  }
}

export interface ShownResult {
  messageId: number;
  sender: string;
  chat: string;
  text: string;
  /** The words marked in it. */
  marked: string[];
  /** Why it was found, as the page says it ("semantic close in meaning (cosine similarity 0.56)"). */
  why: string;
}

/**
 * The results on the page once the search `query` (its URL query string, "?q=...") has been
 * answered: the list says which search it shows, and that it is not loading another.
 */
export async function resultsFor(page: Page, query: string): Promise<ShownResult[]> {
  const settled = `(() => { const list = document.querySelector(".results");
    return list !== null && list.getAttribute("aria-busy") === "false" && list.getAttribute("data-search") === ${JSON.stringify(query)}; })()`;
  await page.waitForFunction(settled, { timeout: 20_000 });
  return page.$$eval(".results .hit", (items) =>
    items.map((li) => ({
      messageId: Number(li.getAttribute("data-message-id")),
      sender: li.querySelector(".sender")?.textContent ?? "",
      chat: li.querySelector(".chat")?.textContent ?? "",
      text: li.querySelector(".hit-open")?.textContent ?? "",
      marked: [...li.querySelectorAll("mark")].map((m) => m.textContent ?? ""),
      why: [...li.querySelectorAll(".hit-why .badge, .hit-why .summary, .hit-why .detail")].map((e) => e.textContent).join(" "),
    })),
  );
}
