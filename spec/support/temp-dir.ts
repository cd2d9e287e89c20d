// Temporary directories for specs (configs, journals, secret files), removed once the whole run has ended (root hook,
// hooks.ts), so that they do not pile up in the system's temp dir run after run.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const made: string[] = [];

/** A new directory `<tmp>/<prefix>-XXXXXX`, removed after the run. */
export function specTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  made.push(dir);
  return dir;
}

export function removeSpecTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}
