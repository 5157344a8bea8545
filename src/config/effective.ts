/**
 * The effective configuration: the config file (or the built-in defaults) with command-line
 * overrides applied and every path made absolute. Main thread, at start-up and on SIGHUP.
 * @module
 */

import { resolve } from "node:path";
import { type Check, checkListen, checkValue, defaultConfig } from "./defaults.ts";
import { ConfigError } from "./errors.ts";
import { loadConfigFile, type LoadedConfig } from "./load.ts";
import type { LogLevel } from "./types.ts";

/** Command-line settings that override the file. */
export interface ConfigFlags {
  config?: string;
  socket?: string;
  "data-dir"?: string;
  "metrics-listen"?: string;
  "log-level"?: string;
}

/** The config file (or defaults) with command-line overrides applied and paths made absolute. */
export async function effectiveConfig(flags: ConfigFlags): Promise<LoadedConfig> {
  const loaded: LoadedConfig = flags.config
    ? await loadConfigFile(flags.config)
    : { config: defaultConfig(), setKeys: new Set() };
  const c = loaded.config;
  if (flags.socket) c.socket.path = flags.socket;
  c.socket.path = resolve(c.socket.path);
  if (flags["metrics-listen"]) {
    c.metrics.listen = flagValue("--metrics-listen", checkListen(flags["metrics-listen"]));
  }
  if (flags["log-level"]) {
    const spec = { kind: "enum", values: ["debug", "info", "warn", "error"] } as const;
    c.logLevel = flagValue("--log-level", checkValue(spec, flags["log-level"])) as LogLevel;
  }
  for (const s of c.sinks) {
    if (s.type !== "file") continue;
    if (flags["data-dir"]) s.options.directory = flags["data-dir"];
    s.options.directory = resolve(String(s.options.directory));
  }
  return loaded;
}

/** The checked value of a command-line flag, or a ConfigError naming the flag. */
function flagValue<T>(flag: string, check: Check<T>): T {
  if (check.ok) return check.value;
  throw new ConfigError([{
    code: check.code,
    path: flag,
    pos: { file: "<command line>", line: 0, col: 0 },
    problem: check.problem,
    hint: check.hint,
  }]);
}
