// Bundles the `cxfr` executable's code (lib/cli/main.ts and what it imports, with @xmpp/*, commander and
// yaml) into dist/cxfr/: `cxfr sessions` loads 11 files instead of ≈170 modules (and yaml's own files) that
// the ESM loader resolves and reads one by one at every start. Commands stay lazily loaded (one chunk each).
// The HTTP daemon's packages, the native SQLite binding and the TTY progress bar stay in node_modules: only
// the commands that use them load them, and pino and better-sqlite3 find files of their own there. tsc still
// builds dist/ for the library entry points.
import { rmSync } from "node:fs";
import { build } from "esbuild";

const NOT_BUNDLED = ["better-sqlite3", "express", "pino", "prom-client", "cli-progress"];

// chunk names carry a content hash: clear the last build's, or they pile up
rmSync("dist/cxfr", { recursive: true, force: true });
await build({
  entryPoints: { main: "lib/cli/main.ts" },
  outdir: "dist/cxfr",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  external: NOT_BUNDLED,
  // CommonJS packages inside an ESM bundle call require(); this gives them Node's own
  banner: { js: 'import { createRequire as cxfrCreateRequire } from "node:module"; const require = cxfrCreateRequire(import.meta.url);' },
  logLevel: "warning",
});
