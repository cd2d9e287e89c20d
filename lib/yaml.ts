import { parse } from "yaml";

/** YAML text (a config file, an ejabberd.yml) as `unknown`, not yaml's `any`: callers validate what they read. */
export function parseYaml(text: string): unknown {
  return parse(text);
}
