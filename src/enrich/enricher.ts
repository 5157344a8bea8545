/**
 * The enrichment stage: fills `client.network_type`, `geo`, `asn`, `device`, `threat`,
 * `sentinel` (decisions, inferred blocks) and the derived fields and labels of a record, from the
 * raw client address and the full request headers of its lifecycle. Pipeline worker, right after
 * the record is built and before sampling and redaction; never on the ack path. `enrich()` is
 * synchronous, bounded (caches have limits) and never throws: a failure is counted and leaves the
 * group absent. Data is swapped atomically on file change and on `reload()`.
 * Emits: telemetry_enrich_* (metricsText()).
 * @module
 */

import type { Config, EnrichmentConfig } from "../config/types.ts";
import type { LogLevel } from "../config/types.ts";
import type { Lifecycle } from "../pipeline/lifecycle.ts";
import type { TelemetryRecord, ThreatGroup } from "../record/schema.ts";
import { type AddressResult, lookupAddress } from "./address.ts";
import { type DataSnapshot, DataStore, type DataVersion, type LoadReport } from "./data_store.ts";
import { applyDerived } from "./derive.ts";
import { DeviceDetector } from "./device.ts";
import { errorText } from "./errors.ts";
import { type AddressSkip, EnrichMetrics } from "./enrich_metrics.ts";
import { parseIp } from "./ip.ts";
import { BoundedCache } from "./lru.ts";
import { pathTemplate } from "./path_template.ts";
import { applySentinel } from "./sentinel_fields.ts";
import { type EnrichSettings, resolveEnrichment, sameData } from "./settings.ts";
import { threatGroup } from "./threat.ts";

/** The logger the stage writes to (src/obs/log.ts `log`). */
export type EnrichLog = (level: LogLevel, msg: string, fields?: object) => void;

/** The enrichment stage, as the pipeline uses it. */
export interface Enricher {
  /** Enrich one record in place. Synchronous; never throws. */
  enrich(record: TelemetryRecord, lc: Lifecycle): void;
  /** Re-read every data file (SIGHUP); a bad file keeps the data it would replace. */
  reload(): Promise<void>;
  /** Apply a reloaded or proxy-merged `enrichment` section (switches, thresholds, data paths). */
  configure(enrichment: EnrichmentConfig): Promise<void>;
  /** Prometheus text of the `telemetry_enrich_*` families. */
  metricsText(): string;
  /** The data files in use, with version labels and attribution. */
  dataVersions(): DataVersion[];
  close(): void;
}

/** Paths cached for `request.path_template`. */
const PATH_CACHE = 10_000;
/** Seconds between repeated logs of the same failing stage. */
const LOG_EVERY_MS = 10_000;

/** Load the data the config names and build the stage. */
export async function createEnricher(config: Config, deps: { log: EnrichLog }): Promise<Enricher> {
  const e = new EnricherImpl(resolveEnrichment(config.enrichment), deps.log);
  await e.start();
  return e;
}

/**
 * The data files a config would use, with version labels and attribution, for `main.ts version`
 * (loads them once to read their metadata).
 */
export async function dataVersions(config: Config): Promise<DataVersion[]> {
  const store = new DataStore(resolveEnrichment(config.enrichment), () => {});
  await store.load();
  return store.snapshot.versions;
}

/** Text lines for `version`: one per data file, then the attributions the licences require. */
export function formatDataVersions(versions: readonly DataVersion[]): string {
  if (versions.length === 0) return "enrichment data: none loaded (run `deno task geo`)";
  const lines = versions.map((v) => `  ${v.dataset.padEnd(16)} ${v.label}  (${v.kind})`);
  const credits = [...new Set(versions.map((v) => v.attribution).filter((a) => a))];
  return ["enrichment data:", ...lines, ...credits.map((a) => `  ${a}`)].join("\n");
}

/** Whether any switch on needs the data files (device detection and the rest do not). */
function usesData(s: EnrichSettings): boolean {
  return s.geoip || s.asn || s.threatIntel;
}

class EnricherImpl implements Enricher {
  #s: EnrichSettings;
  readonly #log: EnrichLog;
  readonly #metrics = new EnrichMetrics();
  readonly #store: DataStore;
  #ipCache: BoundedCache<string, AddressResult>;
  readonly #paths = new BoundedCache<string, string>(PATH_CACHE);
  #device: DeviceDetector;
  #generation = -1;
  #dataLoaded = false;
  #threatVersionOf: DataSnapshot | null = null;
  #threatVersionText = "";
  readonly #lastLog = new Map<string, number>();

  constructor(s: EnrichSettings, log: EnrichLog) {
    this.#s = s;
    this.#log = log;
    this.#store = new DataStore(s, (report, snap) => this.#loaded(report, snap));
    this.#ipCache = new BoundedCache(s.ipCacheSize);
    this.#device = new DeviceDetector(s.uaCacheSize);
    this.#watchCaches();
  }

  /** Loads the data unless no switch that needs it is on (then it is loaded when one is). */
  async start(): Promise<void> {
    if (!usesData(this.#s)) return;
    await this.#load();
  }

  enrich(record: TelemetryRecord, lc: Lifecycle): void {
    try {
      this.#enrich(record, lc);
    } catch (e) {
      this.#metrics.errors.inc({ stage: "enrich", reason: "exception" });
      this.#warn("enrich", "enrichment failed for a record; it goes on partly enriched", e);
    }
  }

  #enrich(record: TelemetryRecord, lc: Lifecycle): void {
    const s = this.#s;
    const snap = this.#store.snapshot;
    this.#metrics.records++;
    if (snap.generation !== this.#generation) {
      this.#ipCache.clear();
      this.#generation = snap.generation;
    }
    const req = headersOf(lc.request?.headers);
    const addr = s.geoip || s.asn || s.threatIntel ? this.#address(record, snap) : undefined;
    if (s.deviceDetection && lc.request) record.device = this.#device.detect(req);
    if (s.threatIntel) record.threat = this.#threat(addr, req, record, snap);
    let blocked: boolean | undefined;
    if (s.sentinel) blocked = applySentinel(record, req, headersOf(lc.response?.headers), s);
    if (s.derived) {
      const path = record.request.path;
      if (path !== undefined) record.request.path_template = this.#template(path);
      applyDerived(record, s, blocked);
    }
  }

  #address(record: TelemetryRecord, snap: DataSnapshot): AddressResult | undefined {
    const c = record.client;
    const skip = (reason: AddressSkip) => {
      this.#metrics.skip(reason);
      return undefined;
    };
    if (!c || c.address_kind === undefined) return skip("missing");
    if (c.address_kind !== "ip" || c.ip === undefined) {
      return skip(c.address_kind === "ip" ? "missing" : c.address_kind);
    }
    let res = this.#ipCache.get(c.ip);
    if (res === undefined) {
      const ip = parseIp(c.ip);
      if (ip === null) return skip("invalid");
      res = lookupAddress(ip, snap, this.#s, this.#lookupError, this.#lookupCount);
      this.#ipCache.set(c.ip, res);
    }
    c.network_type = res.networkType;
    if (res.networkType !== "public") this.#metrics.skip("non_public");
    // Shared, frozen groups (nothing after enrichment changes them): no copy per record.
    if (res.geo) record.geo = res.geo;
    if (res.asn) record.asn = res.asn;
    return res;
  }

  #threat(
    addr: AddressResult | undefined,
    headers: Record<string, unknown>,
    record: TelemetryRecord,
    snap: DataSnapshot,
  ): ThreatGroup {
    const facts = addr?.facts ?? { lists: [], torList: false, hosting: false };
    const g = threatGroup(facts, headers, record.device?.bot_name);
    const version = this.#threatVersion(snap);
    if (version !== "") g.data_version = version;
    return g;
  }

  /** `threat.data_version`: the threat lists' and hosting list's labels (per snapshot). */
  #threatVersion(snap: DataSnapshot): string {
    if (this.#threatVersionOf !== snap) {
      const hosting = snap.hosting
        ? snap.versions.find((v) => v.dataset === "hosting")?.label
        : undefined;
      this.#threatVersionText = [snap.threat?.label, hosting].filter((l) => l !== undefined)
        .join("+");
      this.#threatVersionOf = snap;
    }
    return this.#threatVersionText;
  }

  #template(path: string): string {
    let t = this.#paths.get(path);
    if (t === undefined) {
      t = pathTemplate(path);
      this.#paths.set(path, t);
    }
    return t;
  }

  readonly #lookupError = (dataset: string, e: unknown) => {
    this.#metrics.errors.inc({ stage: dataset, reason: "lookup_failed" });
    this.#warn(`lookup:${dataset}`, `${dataset} lookup failed (damaged data file?)`, e);
  };

  readonly #lookupCount = (dataset: string, hit: boolean) => this.#metrics.lookup(dataset, hit);

  async reload(): Promise<void> {
    if (usesData(this.#s)) await this.#load(true);
  }

  async configure(enrichment: EnrichmentConfig): Promise<void> {
    const next = resolveEnrichment(enrichment);
    const reload = !sameData(this.#s, next);
    if (next.ipCacheSize !== this.#s.ipCacheSize) {
      this.#ipCache = new BoundedCache(next.ipCacheSize);
    }
    if (next.uaCacheSize !== this.#s.uaCacheSize) {
      this.#device = new DeviceDetector(next.uaCacheSize);
    }
    this.#s = next;
    this.#ipCache.clear(); // switches decide what a cached address result holds
    this.#watchCaches();
    this.#store.setConfig(next);
    if (reload && !usesData(next)) this.#dataLoaded = false; // new paths: load when turned on
    if (usesData(next) && (reload || !this.#dataLoaded)) await this.#load();
  }

  async #load(force = false): Promise<void> {
    await this.#store.load(force);
    this.#dataLoaded = true;
    this.#store.watch();
  }

  metricsText(): string {
    return this.#metrics.render();
  }

  dataVersions(): DataVersion[] {
    return [...this.#store.snapshot.versions];
  }

  close(): void {
    this.#store.close();
  }

  #watchCaches(): void {
    this.#metrics.resetCaches();
    this.#metrics.watchCache("ip", this.#ipCache);
    this.#metrics.watchCache("user_agent", this.#device.cache);
    this.#metrics.watchCache("path", this.#paths);
  }

  #loaded(r: LoadReport, snap: DataSnapshot): void {
    const m = this.#metrics;
    m.generation.set(snap.generation);
    m.setVersions(snap.versions);
    for (const _ of r.loaded) m.reloads.inc({ result: "loaded", reason: "" });
    for (const k of r.kept) m.reloads.inc({ result: "kept_previous", reason: k.error.code });
    for (const f of r.failed) m.reloads.inc({ result: "failed", reason: f.error.code });
    for (const _ of r.missing) m.reloads.inc({ result: "missing", reason: "enrich_data_missing" });
    logReport(this.#log, r, snap, this.#s);
  }

  #warn(key: string, msg: string, e: unknown): void {
    const now = performance.now();
    if (now - (this.#lastLog.get(key) ?? -Infinity) < LOG_EVERY_MS) return;
    this.#lastLog.set(key, now);
    this.#log("warn", msg, { error: errorText(e) });
  }
}

function logReport(log: EnrichLog, r: LoadReport, snap: DataSnapshot, s: EnrichSettings): void {
  for (const k of r.kept) {
    log("error", "data file refused; keeping the data it would replace", {
      file: k.path,
      code: k.error.code,
      problem: k.error.problem,
    });
  }
  for (const f of r.failed) {
    log("error", "data file refused; its enrichment runs without it", {
      file: f.path,
      code: f.error.code,
      problem: f.error.problem,
    });
  }
  if (r.loaded.length > 0) {
    log("info", "enrichment data loaded", {
      generation: snap.generation,
      versions: snap.versions.map((v) => `${v.dataset}:${v.label}`),
    });
  }
  const wanted = (s.geoip && !snap.geo) || (s.asn && !snap.asn);
  if (wanted && r.missing.length > 0) {
    log("warn", "geo/ASN data missing: run `deno task geo` or set enrichment databases", {
      missing: r.missing,
      geoip: snap.geo !== null,
      asn: snap.asn !== null,
    });
  }
}

function headersOf(v: unknown): Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v)
    ? v as Record<string, unknown>
    : {};
}
