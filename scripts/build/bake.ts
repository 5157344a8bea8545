/**
 * The permission flags a build bakes into the binary: `src/permissions.ts` applied to the config
 * the service will run with, as a compiled binary (modules and `geo-data/` embedded), with that
 * config's path as installed and relative paths resolved against the service's working
 * directory. Build time only.
 * @module
 */

import { isAbsolute, resolve } from "node:path";
import { ConfigError, formatIssue } from "../../src/config/errors.ts";
import { loadConfigFile } from "../../src/config/load.ts";
import type { Config } from "../../src/config/types.ts";
import { permissionFlags } from "../../src/permissions.ts";
import { BuildError } from "./errors.ts";

/** Which config a build bakes permissions for, and where the service finds it. */
export interface BakeSpec {
  /** The config file read now. */
  config: string;
  /** The path the service reads it from (`run --config <this>`); default: `config`. */
  installedConfig?: string;
  /** The service's working directory; relative config paths resolve against it. */
  workdir: string;
}

/** The config as the service will see it. */
export async function serviceConfig(spec: BakeSpec): Promise<Config> {
  if (!isAbsolute(spec.workdir)) {
    throw new BuildError("build_bad_argument", `--workdir must be absolute, got "${spec.workdir}"`);
  }
  let config: Config;
  try {
    config = (await loadConfigFile(spec.config)).config;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const lines = e.issues.map(formatIssue).join("\n");
    throw new BuildError("build_config_invalid", `${spec.config} does not load:\n${lines}`, {
      cause: e,
    });
  }
  config.source = resolve(spec.workdir, spec.installedConfig ?? spec.config);
  config.socket.path = resolve(spec.workdir, config.socket.path);
  for (const s of config.sinks) {
    if (s.type === "file") s.options.directory = resolve(spec.workdir, String(s.options.directory));
  }
  return config;
}

/** The flags baked into a binary for `spec`. */
export async function bakedPermissions(spec: BakeSpec): Promise<string[]> {
  return permissionFlags(await serviceConfig(spec), { compiled: true, cwd: spec.workdir });
}
