import { parse } from "yaml";

/** YAML parsing: a config file and an ejabberd.yml. Only modules that read one import this. */
export function parseYaml(text: string): unknown {
  return parse(text);
}
