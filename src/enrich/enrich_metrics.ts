/**
 * The enrichment stage's own metric families (`telemetry_enrich_*`), rendered as Prometheus text
 * for the worker's snapshot. Labels are bounded: dataset, cache, stage, reason and result names
 * from fixed sets, data labels from the few files loaded — never an IP, path or header value.
 * Pipeline worker.
 * @module
 */

import { Registry } from "../obs/metrics.ts";
import type { DataVersion } from "./data_store.ts";

/** Why an address was not looked up. */
export type AddressSkip = "missing" | "unknown" | "unix" | "invalid" | "non_public";

export class EnrichMetrics {
  readonly #r = new Registry();
  /** Records passed through enrichment (plain numbers on the hot path; rendered as text). */
  records = 0;
  /** Lookups by `dataset|result`. */
  readonly lookups = new Map<string, number>();
  /** Addresses not looked up, by reason. */
  readonly skipped = new Map<AddressSkip, number>();
  readonly errors = this.#r.counter(
    "telemetry_enrich_errors_total",
    "Enrichment errors by stage and reason; the record goes on without that group.",
  );
  readonly reloads = this.#r.counter(
    "telemetry_enrich_data_loads_total",
    "Data file loads by result (loaded, kept_previous, failed, missing) and reason code.",
  );
  readonly loadSeconds = this.#r.gauge(
    "telemetry_enrich_data_load_seconds",
    "Duration of the last data load or reload.",
  );
  readonly generation = this.#r.gauge(
    "telemetry_enrich_data_generation",
    "Data snapshots swapped in since start (1 after the first load).",
  );
  #versions: readonly DataVersion[] = [];
  readonly #caches: [string, Stats][] = [];

  /** Forget the caches reported so far (before watching replacements). */
  resetCaches(): void {
    this.#caches.length = 0;
  }

  /** Report cache statistics for `name` at render time. */
  watchCache(name: string, cache: Stats): void {
    this.#caches.push([name, cache]);
  }

  /** Replace the data-info series with the versions now in use. */
  setVersions(versions: readonly DataVersion[]): void {
    this.#versions = versions;
  }

  /** Count one lookup of `dataset` (hit or miss). */
  lookup(dataset: string, hit: boolean): void {
    const k = `${dataset}|${hit ? "hit" : "miss"}`;
    this.lookups.set(k, (this.lookups.get(k) ?? 0) + 1);
  }

  /** Count one address not looked up. */
  skip(reason: AddressSkip): void {
    this.skipped.set(reason, (this.skipped.get(reason) ?? 0) + 1);
  }

  render(): string {
    const out = [this.#r.render()];
    out.push(
      "# HELP telemetry_enrich_records_total Records passed through enrichment.\n",
      "# TYPE telemetry_enrich_records_total counter\n",
      `telemetry_enrich_records_total ${this.records}\n`,
      "# HELP telemetry_enrich_lookups_total Address lookups by dataset and result (hit, miss).\n",
      "# TYPE telemetry_enrich_lookups_total counter\n",
    );
    for (const [k, v] of this.lookups) {
      const [dataset, result] = k.split("|");
      out.push(`telemetry_enrich_lookups_total{dataset="${dataset}",result="${result}"} ${v}\n`);
    }
    out.push(
      "# HELP telemetry_enrich_addresses_skipped_total Client addresses not looked up, by reason " +
        "(missing, unknown, unix, invalid, non_public).\n",
      "# TYPE telemetry_enrich_addresses_skipped_total counter\n",
    );
    for (const [reason, v] of this.skipped) {
      out.push(`telemetry_enrich_addresses_skipped_total{reason="${reason}"} ${v}\n`);
    }
    out.push(
      "# HELP telemetry_enrich_data_info Data in use: one series per file (value 1).\n",
      "# TYPE telemetry_enrich_data_info gauge\n",
    );
    for (const v of this.#versions) {
      out.push(`telemetry_enrich_data_info{dataset="${v.dataset}",version="${esc(v.label)}"} 1\n`);
    }
    const family = (name: string, type: string, help: string, pick: (c: Stats) => number) => {
      out.push(`# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`);
      for (const [cache, c] of this.#caches) out.push(`${name}{cache="${cache}"} ${pick(c)}\n`);
    };
    family("telemetry_enrich_cache_hits_total", "counter", "Cache hits.", (c) => c.hits);
    family("telemetry_enrich_cache_misses_total", "counter", "Cache misses.", (c) => c.misses);
    family(
      "telemetry_enrich_cache_evictions_total",
      "counter",
      "Entries dropped to stay within the cache size.",
      (c) => c.evictions,
    );
    family("telemetry_enrich_cache_entries", "gauge", "Entries held.", (c) => c.size);
    family("telemetry_enrich_cache_capacity", "gauge", "Most entries held.", (c) => c.capacity);
    return out.join("");
  }
}

function esc(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** What a cache reports (BoundedCache has these). */
type Stats = {
  readonly hits: number;
  readonly misses: number;
  readonly evictions: number;
  readonly size: number;
  readonly capacity: number;
};
