/**
 * `main.ts lookup <ip> [--ua "…"] [--header "name: value"]… [--config F]`: prints the enrichment
 * of one address (and User-Agent) as JSON — the same enricher, data and config the agent uses.
 * Command line only; reads data files, never the network.
 * @module
 */

import { parseArgs } from "node:util";
import { ConfigError, formatIssue } from "../config/errors.ts";
import { defaultConfig } from "../config/defaults.ts";
import { loadConfigFile } from "../config/load.ts";
import type { Config } from "../config/types.ts";
import { createEnricher } from "../enrich/enricher.ts";
import { newLifecycle } from "../pipeline/lifecycle.ts";
import { buildRecord } from "../pipeline/record_builder.ts";
import { VERSION } from "../version.ts";

const USAGE =
  `Usage: main.ts lookup <ip> [--ua "User-Agent"] [--header "name: value"]... [--config F]

Prints the enrichment (client, geo, asn, device, threat) of one client address as JSON.`;

/** Run the command; returns the exit code (0 ok, 1 config or data problem, 2 usage). */
export async function runLookup(args: string[]): Promise<number> {
  let values, positionals;
  try {
    ({ values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        ua: { type: "string" },
        header: { type: "string", multiple: true, default: [] },
        config: { type: "string", short: "c" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    console.error(`${e instanceof Error ? e.message : e}\n\n${USAGE}`);
    return 2;
  }
  if (values.help || positionals.length !== 1) {
    (values.help ? console.log : console.error)(USAGE);
    return values.help ? 0 : 2;
  }
  const config = await configFor(values.config);
  if (config === null) return 1;
  const headers = headerMap(values.ua, values.header);
  if (headers === null) return 2;
  config.enrichment = { ...config.enrichment, reloadIntervalMs: 0 };
  const enricher = await createEnricher(config, {
    log: (level, msg, fields) => {
      if (level !== "debug" && level !== "info") {
        console.error(JSON.stringify({ level, msg, ...fields }));
      }
    },
  });
  const record = buildRecord(lifecycleFor(positionals[0], headers), null, agent(), Date.now());
  enricher.enrich(record, lifecycleFor(positionals[0], headers));
  enricher.close();
  const { client, geo, asn, device, threat } = record;
  const data = enricher.dataVersions().map((v) => ({
    dataset: v.dataset,
    version: v.label,
    file: v.path.split(/[\\/]/).pop(),
  }));
  const attribution = [...new Set(enricher.dataVersions().map((v) => v.attribution))]
    .filter((a) => a !== undefined);
  console.log(
    JSON.stringify(
      { input: positionals[0], client, geo, asn, device, threat, data, attribution },
      null,
      2,
    ),
  );
  return 0;
}

async function configFor(path: string | undefined): Promise<Config | null> {
  if (path === undefined) return defaultConfig();
  try {
    return (await loadConfigFile(path)).config;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    console.error(e.issues.map(formatIssue).join("\n"));
    return null;
  }
}

function headerMap(ua: string | undefined, extra: string[]): Record<string, string[]> | null {
  const h: Record<string, string[]> = {};
  if (ua !== undefined) h["user-agent"] = [ua];
  for (const line of extra) {
    const colon = line.indexOf(":");
    if (colon <= 0) {
      console.error(`--header expects "name: value", got "${line}"\n\n${USAGE}`);
      return null;
    }
    const name = line.slice(0, colon).trim().toLowerCase();
    (h[name] ??= []).push(line.slice(colon + 1).trim());
  }
  return h;
}

function lifecycleFor(ip: string, headers: Record<string, string[]>) {
  const lc = newLifecycle("lookup", 2, Date.now());
  lc.request = {
    metadata: { client_ip: ip, timestamp: new Date().toISOString() },
    method: "GET",
    uri: "/",
    headers,
  };
  lc.requestArrival = lc.firstArrival;
  lc.events = 1;
  return lc;
}

function agent() {
  return { id: "lookup", version: VERSION, host: "lookup" };
}
