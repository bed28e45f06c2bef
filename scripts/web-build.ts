/**
 * `npm run web:build` (also run by scripts/postinstall.sh): builds the web app's bundle into
 * .cache/web, where the gateway serves it, and prints each file's size, plain and gzipped.
 */
import { describeError } from "../services/common/errors.ts";
import { buildWebBundle } from "../services/gateway/web/build.ts";
import { WEB_BUNDLE_DIR } from "../services/gateway/web/bundle.ts";

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

try {
  const files = await buildWebBundle();
  const total = files.reduce((sum, f) => sum + f.gzipBytes, 0);
  console.log(`tglens: web app built into ${WEB_BUNDLE_DIR}: ${kb(total)} gzipped in all`);
  for (const f of files) console.log(`  ${f.name.padEnd(10)} ${kb(f.bytes).padStart(10)}  (${kb(f.gzipBytes)} gzipped)`);
} catch (err) {
  console.error(`tglens: the web app could not be built: ${describeError(err).message}`);
  process.exitCode = 1;
}
