/**
 * Fetches threat lists by URL at build time (`deno task geo --threat-lists`, sources in
 * geo-data/threat-sources.txt, or `--threat-list NAME=URL`) into geo-data/threat/NAME.txt, after
 * checking each with the agent's list parser. A list that cannot be fetched or read keeps the copy
 * an earlier run left, and makes the run exit non-zero. Build time only.
 * @module
 */

import { join } from "node:path";
import { errorText } from "../errors.ts";
import type { ManifestFile } from "../manifest.ts";
import { parseThreatList } from "../threat_lists.ts";
import { sha256Hex } from "./build_product.ts";

const SOURCES_FILE = "threat-sources.txt";

/** `NAME=URL` lines of geo-data/threat-sources.txt (when `enabled`), comments skipped. */
export async function readThreatSources(out: string, enabled: boolean): Promise<string[]> {
  if (!enabled) return [];
  const text = await Deno.readTextFile(join(out, SOURCES_FILE));
  return text.split("\n").map((l) => l.replace(/#.*/, "").trim()).filter((l) => l !== "");
}

/** Fetch each `NAME=URL`; returns the manifest entries (new or kept) and whether any failed. */
export async function fetchThreatLists(
  sources: string[],
  out: string,
  old: ManifestFile[],
): Promise<{ files: ManifestFile[]; failed: boolean }> {
  await Deno.mkdir(join(out, "threat"), { recursive: true });
  const files: ManifestFile[] = [];
  let failed = false;
  for (const source of sources) {
    const eq = source.indexOf("=");
    const name = source.slice(0, eq).trim(), url = source.slice(eq + 1).trim();
    if (eq <= 0 || !/^[a-z0-9][a-z0-9._-]*$/i.test(name) || !/^https?:\/\//.test(url)) {
      console.error(`error: threat list "${source}": expected NAME=https://…`);
      failed = true;
      continue;
    }
    try {
      files.push(await fetchOne(name, url, out));
    } catch (e) {
      failed = true;
      const kept = old.find((f) => f.dataset === "threat" && f.path === `threat/${name}.txt`);
      console.error(`error: threat list ${name} (${url}): ${errorText(e)}`);
      if (kept) console.error(`  keeping ${kept.label}`);
      if (kept) files.push(kept);
    }
  }
  return { files, failed };
}

async function fetchOne(name: string, url: string, out: string): Promise<ManifestFile> {
  const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  const text = await res.text();
  const list = parseThreatList(text, name, url);
  const path = `threat/${name}.txt`;
  const bytes = new TextEncoder().encode(text);
  await Deno.writeFile(join(out, `${path}.tmp`), bytes);
  await Deno.rename(join(out, `${path}.tmp`), join(out, path));
  const day = new Date().toISOString().slice(0, 10);
  console.log(`${name}: ${list.entries} entries from ${url}`);
  return {
    path,
    dataset: "threat",
    source: url,
    version: day,
    label: `${name}@${day}`,
    sha256: await sha256Hex(bytes),
    bytes: bytes.length,
    licence: "see the list's source",
  };
}
