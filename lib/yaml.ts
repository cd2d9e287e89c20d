import { createRequire } from "node:module";

/** YAML parsing, loaded on first use: only a config file or an ejabberd.yml needs it, and it costs start-up time. */
export function parseYaml(text: string): unknown {
  return (createRequire(import.meta.url)("yaml") as typeof import("yaml")).parse(text);
}
