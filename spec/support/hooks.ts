// Mocha root hooks (loaded through .mocharc.json "require"): after the whole run, stop every lab
// server still running. The lab itself also kills its processes on process exit / SIGINT / SIGTERM.
import { stopAllLabProcesses } from "./lab/index.ts";

export const mochaHooks = {
  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(60_000);
    await stopAllLabProcesses();
  },
};
