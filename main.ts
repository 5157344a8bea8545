/**
 * Telemetry's command line: `run` (default), `validate`, `version`.
 * @module
 */

import { parseArgs } from "node:util";
import { runAgent } from "./src/agent.ts";
import { runLookup } from "./src/cli/lookup.ts";
import { runSchema } from "./src/cli/schema.ts";
import { ConfigError, formatIssue } from "./src/config/errors.ts";
import { effectiveConfig } from "./src/config/effective.ts";
import type { LoadedConfig } from "./src/config/load.ts";
import { configToKdl } from "./src/config/print.ts";
import type { Config } from "./src/config/types.ts";
import { permissionFlags } from "./src/permissions.ts";
import { buildInfo, formatVersion } from "./src/build_info.ts";
import { VERSION } from "./src/version.ts";

const HELP = `Telemetry ${VERSION} — observability agent for the Sentinel (Zentinel) proxy

Usage:
  main.ts [run] [options]       start the agent (default command)
  main.ts validate --config F   check a config file; prints every problem with file:line:col
  main.ts permissions [options] print the deno permission flags this config needs
  main.ts schema --clickhouse [--server-version V] [--database D] [--table T]
                                print the ClickHouse DDL of the record table
  main.ts lookup <ip> [--ua U]  print the enrichment of one address (and User-Agent) as JSON
  main.ts version               print version, commit, build date, baked-in permissions and
                                the enrichment data with its attributions

Options (run, validate):
  -c, --config FILE        KDL config file (default: built-in defaults: NDJSON files in ./data)
      --socket PATH        Unix socket to listen on (overrides the config)
      --data-dir DIR       directory of the default file sink (overrides the config)
      --metrics-listen A   loopback host:port for /metrics and /healthz, or "off"
      --log-level L        debug | info | warn | error
      --ack-only           answer the proxy but run no pipeline (benchmark baseline)
      --print-config       print the effective config as KDL and exit
      --fault-pipeline-delay-ms N
                           testing only: block the pipeline worker N ms per batch
  -h, --help               this help
`;

const OPTIONS = {
  config: { type: "string", short: "c" },
  socket: { type: "string" },
  "data-dir": { type: "string" },
  "metrics-listen": { type: "string" },
  "log-level": { type: "string" },
  "ack-only": { type: "boolean" },
  "print-config": { type: "boolean" },
  "fault-pipeline-delay-ms": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

type Flags = {
  config?: string;
  socket?: string;
  "data-dir"?: string;
  "metrics-listen"?: string;
  "log-level"?: string;
  "ack-only"?: boolean;
  "print-config"?: boolean;
  "fault-pipeline-delay-ms"?: string;
  help?: boolean;
};

async function main(args: string[]): Promise<number> {
  if (args[0] === "schema") return await runSchema(args.slice(1));
  if (args[0] === "lookup") return await runLookup(args.slice(1));
  let parsed;
  try {
    parsed = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    console.error(`${e instanceof Error ? e.message : e}\n\n${HELP}`);
    return 2;
  }
  const flags = parsed.values as Flags;
  const command = parsed.positionals[0] ?? "run";
  if (flags.help) {
    console.log(HELP);
    return 0;
  }
  if (command === "version") {
    console.log(formatVersion(buildInfo()));
    return 0;
  }
  if (command !== "run" && command !== "validate" && command !== "permissions") {
    console.error(`Unknown command "${command}"\n\n${HELP}`);
    return 2;
  }
  let loaded: LoadedConfig;
  try {
    loaded = await effectiveConfig(flags);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    console.error(e.issues.map(formatIssue).join("\n"));
    console.error(`${e.issues.length} problem(s) in the configuration`);
    return 1;
  }
  if (command === "permissions") {
    console.log(permissionFlags(loaded.config).join(" "));
    return 0;
  }
  if (command === "validate") {
    console.log(`${loaded.config.source}: OK`);
    if (flags["print-config"]) console.log(configToKdl(loaded.config));
    return 0;
  }
  if (flags["print-config"]) {
    console.log(configToKdl(loaded.config));
    return 0;
  }
  return await runAgent({
    config: loaded.config,
    setKeys: [...loaded.setKeys],
    ackOnly: flags["ack-only"] === true,
    faultPipelineDelayMs: Number(flags["fault-pipeline-delay-ms"] ?? 0),
    reload: flags.config ? () => effectiveConfig(flags).then(toPlain) : null,
  });
}

function toPlain(l: LoadedConfig): { config: Config; setKeys: string[] } {
  return { config: l.config, setKeys: [...l.setKeys] };
}

if (import.meta.main) Deno.exit(await main(Deno.args));
