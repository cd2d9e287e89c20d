// Mocha root hooks (loaded through .mocharc.json "require"): after the whole run, stop every lab
// server still running (the lab itself also kills its processes on process exit / SIGINT / SIGTERM),
// then remove the specs' temporary directories.
import { stopAllLabProcesses } from "./lab/index.ts";
import { removeSpecTempDirs } from "./temp-dir.ts";

export const mochaHooks = {
  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(60_000);
    await stopAllLabProcesses();
    removeSpecTempDirs();
  },
};
