/**
 * Loads the enrichment data — the manifest's default files in `data-dir`, databases and threat
 * lists given by path, the hosting-ASN list — into one immutable snapshot, and swaps in a new
 * snapshot when files change (mtime/size polling) or on `reload()` (SIGHUP). A file that fails to
 * load keeps the data it replaced (or leaves its enrichment off at start-up) and says why in the
 * log. Pipeline worker and CLI. Reading is async, so events keep flowing while data loads.
 * Emits (through EnrichMetrics): telemetry_enrich_data_*, telemetry_enrich_reloads_total.
 * @module
 */

import { join } from "node:path";
import type { EnrichmentConfig } from "../config/types.ts";
import { type AsnTable, decodeAsnTable } from "./asn_table.ts";
import { DataFileError, errorText, fileError } from "./errors.ts";
import { parseHostingAsns } from "./hosting_asns.ts";
import { MANIFEST_NAME, type ManifestFile, parseManifest } from "./manifest.ts";
import { type MmdbDatabase, openMmdb } from "./mmdb.ts";
import { MAX_LISTS, type ParsedList, parseThreatList, ThreatListSet } from "./threat_lists.ts";

/** A loaded data file and what it is. */
type Loaded =
  | { type: "mmdb"; db: MmdbDatabase }
  | { type: "asn_table"; table: AsnTable }
  | { type: "list"; list: ParsedList }
  | { type: "hosting"; asns: Set<number> };

/** The version of one data file in use (for `version`, metrics and records). */
export interface DataVersion {
  dataset: "geo" | "asn" | "anonymous_ip" | "connection_type" | "threat" | "hosting";
  label: string;
  path: string;
  /** e.g. `GeoLite2-City`, `asn-table`, `list`. */
  kind: string;
  attribution?: string;
}

/** One database answering for a dataset, with the label records carry. */
export interface Source<T> {
  label: string;
  items: T[];
}

/** Everything enrichment reads, swapped as a whole. */
export interface DataSnapshot {
  generation: number;
  geo: Source<MmdbDatabase> | null;
  asn: Source<MmdbDatabase | AsnTable> | null;
  anonymous: Source<MmdbDatabase> | null;
  connectionType: Source<MmdbDatabase> | null;
  threat: { label: string; lists: ThreatListSet } | null;
  hosting: Set<number> | null;
  versions: DataVersion[];
}

/** A file the store watches, as planned from config and manifest. */
interface Planned {
  path: string;
  role: "database" | "list" | "hosting";
  /** Came from the manifest (a default), not from config. */
  fromManifest: boolean;
  meta?: ManifestFile;
}

interface CacheEntry {
  mtime: number;
  size: number;
  loaded: Loaded;
  label: string;
}

/** What a load did, for the log and metrics. */
export interface LoadReport {
  loaded: string[];
  kept: { path: string; error: DataFileError }[];
  failed: { path: string; error: DataFileError }[];
  missing: string[];
}

export type LoadListener = (report: LoadReport, snapshot: DataSnapshot) => void;

const EMPTY: DataSnapshot = {
  generation: 0,
  geo: null,
  asn: null,
  anonymous: null,
  connectionType: null,
  threat: null,
  hosting: null,
  versions: [],
};

export class DataStore {
  #cfg: Required<EnrichmentConfig>;
  #snapshot: DataSnapshot = EMPTY;
  readonly #cache = new Map<string, CacheEntry>();
  #stats = new Map<string, string>();
  #manifestFiles: ManifestFile[] = [];
  #running: Promise<LoadReport> | null = null;
  #timer: ReturnType<typeof setInterval> | undefined;
  readonly #onLoad: LoadListener;

  constructor(cfg: Required<EnrichmentConfig>, onLoad: LoadListener) {
    this.#cfg = cfg;
    this.#onLoad = onLoad;
  }

  /** Use new settings (data paths, poll interval); the caller reloads. */
  setConfig(cfg: Required<EnrichmentConfig>): void {
    const poll = cfg.reloadIntervalMs !== this.#cfg.reloadIntervalMs && this.#timer !== undefined;
    this.#cfg = cfg;
    if (poll) {
      this.close();
      this.watch();
    }
  }

  /** The snapshot in use; replaced as a whole, never changed in place. */
  get snapshot(): DataSnapshot {
    return this.#snapshot;
  }

  /** Load (or reload) every file; `force` re-reads files whose mtime and size did not change. */
  load(force = false): Promise<LoadReport> {
    if (this.#running) return this.#running.then(() => this.load(force));
    this.#running = this.#load(force).finally(() => (this.#running = null));
    return this.#running;
  }

  /** Poll files every `reloadIntervalMs` and reload when one changed. */
  watch(): void {
    const every = this.#cfg.reloadIntervalMs;
    if (every <= 0 || this.#timer !== undefined) return;
    this.#timer = setInterval(() => void this.#poll(), every);
    Deno.unrefTimer(this.#timer);
  }

  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #poll(): Promise<void> {
    if (this.#running) return;
    const plan = await this.#plan();
    const now = await statAll([join(this.#cfg.dataDir, MANIFEST_NAME), ...plan.map((p) => p.path)]);
    if (!sameStats(now, this.#stats)) await this.load();
  }

  async #load(force: boolean): Promise<LoadReport> {
    const report: LoadReport = { loaded: [], kept: [], failed: [], missing: [] };
    const plan = await this.#plan(report);
    const files = new Map<Planned, CacheEntry>();
    for (const p of plan) {
      const entry = await this.#loadFile(p, force, report);
      if (entry) files.set(p, entry);
    }
    for (const key of [...this.#cache.keys()]) {
      if (!plan.some((p) => p.path === key)) this.#cache.delete(key);
    }
    this.#stats = await statAll([
      join(this.#cfg.dataDir, MANIFEST_NAME),
      ...plan.map((p) => p.path),
    ]);
    this.#snapshot = assemble(capLists(files, report), this.#snapshot.generation + 1);
    this.#onLoad(report, this.#snapshot);
    return report;
  }

  /** The files to load: the manifest's defaults plus what the config names. */
  async #plan(report?: LoadReport): Promise<Planned[]> {
    const c = this.#cfg;
    const plan: Planned[] = [];
    const manifestPath = join(c.dataDir, MANIFEST_NAME);
    try {
      const manifest = parseManifest(await Deno.readTextFile(manifestPath), manifestPath);
      this.#manifestFiles = manifest.files;
    } catch (e) {
      const err = fileError(e, manifestPath);
      if (err.code === "enrich_data_missing") {
        report?.missing.push(manifestPath);
        this.#manifestFiles = [];
      } else if (this.#manifestFiles.length > 0) {
        report?.kept.push({ path: manifestPath, error: err });
      } else report?.failed.push({ path: manifestPath, error: err });
    }
    for (const f of this.#manifestFiles) {
      const role = f.dataset === "threat"
        ? "list"
        : f.dataset === "hosting"
        ? "hosting"
        : "database";
      plan.push({ path: join(c.dataDir, f.path), role, fromManifest: true, meta: f });
    }
    for (const path of c.databases) plan.push({ path, role: "database", fromManifest: false });
    for (const path of c.threatLists) plan.push({ path, role: "list", fromManifest: false });
    const hosting = c.hostingAsns !== "" ? c.hostingAsns : join(c.dataDir, "hosting-asns.txt");
    if (!plan.some((p) => p.role === "hosting")) {
      plan.push({ path: hosting, role: "hosting", fromManifest: c.hostingAsns === "" });
    }
    return plan;
  }

  async #loadFile(p: Planned, force: boolean, report: LoadReport): Promise<CacheEntry | null> {
    const old = this.#cache.get(p.path);
    let stat: Deno.FileInfo;
    try {
      stat = await Deno.stat(p.path);
      const mtime = stat.mtime?.getTime() ?? 0;
      if (!force && old && old.mtime === mtime && old.size === stat.size) return old;
      const bytes = await Deno.readFile(p.path);
      const loaded = parseFile(p, bytes);
      const entry = { mtime, size: stat.size, loaded, label: labelOf(p, loaded, mtime) };
      this.#cache.set(p.path, entry);
      report.loaded.push(p.path);
      return entry;
    } catch (e) {
      const error = fileError(e, p.path);
      if (old) report.kept.push({ path: p.path, error });
      else if (error.code === "enrich_data_missing") report.missing.push(p.path);
      else report.failed.push({ path: p.path, error });
      return old ?? null;
    }
  }
}

function parseFile(p: Planned, bytes: Uint8Array): Loaded {
  if (p.role === "hosting") {
    return { type: "hosting", asns: parseHostingAsns(new TextDecoder().decode(bytes), p.path) };
  }
  if (p.role === "list") {
    const name = p.meta?.label.split("@")[0] ?? listName(p.path);
    return { type: "list", list: parseThreatList(new TextDecoder().decode(bytes), name, p.path) };
  }
  if (new TextDecoder().decode(bytes.subarray(0, 5)) === "TLASN") {
    return { type: "asn_table", table: decodeAsnTable(bytes, p.path) };
  }
  return { type: "mmdb", db: openMmdb(bytes, p.path) };
}

/** A list's name from its file name: `spamhaus-drop.txt` → `spamhaus-drop`. */
export function listName(path: string): string {
  const base = path.split(/[\\/]/).pop() ?? path;
  return base.replace(/\.(txt|netset|ipset|list|csv|json|lst)$/i, "") || base;
}

function labelOf(p: Planned, l: Loaded, mtime: number): string {
  if (p.meta) return p.meta.label;
  const day = new Date(mtime).toISOString().slice(0, 10);
  if (l.type === "mmdb") return `${l.db.databaseType}@${l.db.buildDate}`;
  if (l.type === "list") return `${l.list.name}@${day}`;
  return `${l.type === "asn_table" ? "asn-table" : "hosting-asns"}@${day}`;
}

/** Build a snapshot: config-given databases of a kind replace the manifest's of that kind. */
function assemble(files: Map<Planned, CacheEntry>, generation: number): DataSnapshot {
  const s: DataSnapshot = { ...EMPTY, generation, versions: [] };
  const entries = [...files];
  const pick = (match: (l: Loaded) => boolean) => {
    const all = entries.filter(([, e]) => match(e.loaded));
    const own = all.filter(([p]) => !p.fromManifest);
    return own.length > 0 ? own : all;
  };
  const isDb = (kinds: string[]) => (l: Loaded) => l.type === "mmdb" && kinds.includes(l.db.kind);
  const geo = pick(isDb(["city", "country"]));
  const asn = pick((l) => isDb(["asn"])(l) || l.type === "asn_table");
  const anon = pick(isDb(["anonymous_ip"]));
  const conn = pick(isDb(["connection_type"]));
  s.geo = source(geo, (l) => l.type === "mmdb" ? l.db : null);
  s.asn = source(asn, (l) => l.type === "mmdb" ? l.db : l.type === "asn_table" ? l.table : null);
  s.anonymous = source(anon, (l) => l.type === "mmdb" ? l.db : null);
  s.connectionType = source(conn, (l) => l.type === "mmdb" ? l.db : null);
  const lists = entries.filter(([, e]) => e.loaded.type === "list");
  if (lists.length > 0) {
    const parsed = lists.map(([, e]) => (e.loaded as { list: ParsedList }).list);
    const newest = Math.max(...lists.map(([, e]) => e.mtime));
    const label = `lists-${lists.length}@${new Date(newest).toISOString().slice(0, 16)}Z`;
    s.threat = { label, lists: new ThreatListSet(parsed) };
  }
  const hosting = entries.find(([, e]) => e.loaded.type === "hosting");
  if (hosting) s.hosting = (hosting[1].loaded as { asns: Set<number> }).asns;
  const versionOf = (dataset: DataVersion["dataset"], list: [Planned, CacheEntry][]) =>
    list.forEach(([p, e]) => s.versions.push(version(dataset, p, e)));
  versionOf("geo", geo);
  versionOf("asn", asn);
  versionOf("anonymous_ip", anon);
  versionOf("connection_type", conn);
  versionOf("threat", lists);
  if (hosting) versionOf("hosting", [hosting]);
  return s;
}

/** Keep the first MAX_LISTS lists; report the rest as failed. */
function capLists(files: Map<Planned, CacheEntry>, report: LoadReport): Map<Planned, CacheEntry> {
  let n = 0;
  for (const [p, e] of [...files]) {
    if (e.loaded.type !== "list" || ++n <= MAX_LISTS) continue;
    files.delete(p);
    const why = `more than ${MAX_LISTS} threat lists; merge lists or drop some`;
    report.failed.push({
      path: p.path,
      error: new DataFileError("enrich_data_invalid", p.path, why),
    });
  }
  return files;
}

function source<T>(list: [Planned, CacheEntry][], item: (l: Loaded) => T | null): Source<T> | null {
  const items = list.map(([, e]) => item(e.loaded)).filter((x): x is T => x !== null);
  if (items.length === 0) return null;
  const labels = [...new Set(list.map(([, e]) => e.label))];
  return { label: labels.join("+"), items };
}

function version(dataset: DataVersion["dataset"], p: Planned, e: CacheEntry): DataVersion {
  const l = e.loaded;
  const kind = l.type === "mmdb" ? l.db.databaseType : l.type.replace("_", "-");
  const v: DataVersion = { dataset, label: e.label, path: p.path, kind };
  if (p.meta?.attribution) v.attribution = p.meta.attribution;
  else if (l.type === "mmdb" && /dbip|db-ip/i.test(l.db.databaseType)) {
    v.attribution = "IP Geolocation by DB-IP (https://db-ip.com)";
  }
  return v;
}

async function statAll(paths: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const path of paths) {
    try {
      const st = await Deno.stat(path);
      out.set(path, `${st.mtime?.getTime() ?? 0}:${st.size}`);
    } catch (e) {
      out.set(path, e instanceof Deno.errors.NotFound ? "missing" : `error:${errorText(e)}`);
    }
  }
  return out;
}

function sameStats(a: Map<string, string>, b: Map<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}
