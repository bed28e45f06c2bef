/**
 * A server with TGLENS_API_TOKEN, in a real browser: the page loads without a token, asks for it
 * once, says so when it is refused, keeps the right one in the browser (a reload does not ask
 * again), and every /api call carries it.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { browserSkip, inPage, resultsFor, startWebSystem, type WebSystem } from "../../../../../helpers/browser.ts";

const TOKEN = "web-app-admin-token-0123456789";
/** Chromium logs each refused /api call; here they are what the test expects. */
const REFUSED = [/status of 401/];

describe("web app: the API token", { skip: browserSkip() }, () => {
  let web: WebSystem;
  before(async () => {
    web = await startWebSystem({ TGLENS_API_TOKEN: TOKEN });
  });
  after(() => web?.close());

  it("is asked for once, refused when wrong, and kept in the browser", () =>
    inPage(
      web.browser,
      "token-prompt asked once",
      async (page) => {
        const query = "?q=plumber";
        await page.goto(`${web.tglens.url}/${query}`, { waitUntil: "networkidle0" });
        await page.waitForSelector("#token");
        assert.equal(await page.evaluate("document.activeElement?.id"), "token");
        assert.equal(await page.$("#token-refused"), null, "nothing was refused yet");

        await page.type("#token", "not-the-token-0123456789");
        await page.keyboard.press("Enter");
        await page.waitForSelector("#token-refused");
        assert.equal(await page.evaluate("localStorage.getItem('tglens.apiToken')"), null, "a refused token is not kept");

        await page.$eval("#token", (el) => ((el as { value: string }).value = ""));
        await page.type("#token", TOKEN);
        await page.keyboard.press("Enter");
        const results = await resultsFor(page, query);
        assert.ok(results.length > 0);
        assert.equal(new URL(page.url()).search, query, "the search survived the prompt");
        assert.equal(await page.evaluate("localStorage.getItem('tglens.apiToken')"), TOKEN);

        await page.reload({ waitUntil: "networkidle0" });
        await resultsFor(page, query);
        assert.equal(await page.$("#token"), null, "not asked again");
      },
      { allowErrors: REFUSED },
    ));
});
