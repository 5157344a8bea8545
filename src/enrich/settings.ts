/**
 * The enrichment settings in effect: the config's `enrichment` section with every optional key
 * filled from `ENRICHMENT_DEFAULTS`, header names lower-cased. Pure function.
 * @module
 */

import { fileURLToPath } from "node:url";
import { ENRICHMENT_DEFAULTS } from "../config/defaults.ts";
import type { EnrichmentConfig } from "../config/types.ts";

/** Settings with no key left out. */
export type EnrichSettings = Required<EnrichmentConfig>;

/** The agent's own data directory: beside its code, or embedded in a compiled binary. */
export const BUILTIN_DATA_DIR = fileURLToPath(new URL("../../geo-data/", import.meta.url));

/** Fill the optional keys of an `enrichment` section with their defaults. */
export function resolveEnrichment(cfg: EnrichmentConfig): EnrichSettings {
  const out = { ...ENRICHMENT_DEFAULTS } as EnrichSettings;
  const target = out as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(cfg)) if (v !== undefined) target[k] = v;
  if (out.dataDir === "") out.dataDir = BUILTIN_DATA_DIR;
  out.decisionHeaders = out.decisionHeaders.map(lower);
  out.riskScoreHeaders = out.riskScoreHeaders.map(lower);
  out.matchedRulesHeaders = out.matchedRulesHeaders.map(lower);
  return out;
}

/** Whether two settings load the same data (same files, same cache sizes). */
export function sameData(a: EnrichSettings, b: EnrichSettings): boolean {
  const keys: (keyof EnrichSettings)[] = ["dataDir", "databases", "threatLists", "hostingAsns"];
  return keys.every((k) => JSON.stringify(a[k]) === JSON.stringify(b[k]));
}

function lower(s: string): string {
  return s.toLowerCase();
}
