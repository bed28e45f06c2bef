/** The web app's entry, bundled by esbuild into app.js (../build.ts): the app into the page's #app. */
import { html } from "htm/preact";
import { render } from "preact";
import { App } from "./shell.ts";

render(html`<${App} />`, document.getElementById("app")!);
