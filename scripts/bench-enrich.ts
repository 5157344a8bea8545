/**
 * Enrichment benchmark, one process, one core: lifecycles/s through record building (+ JSON
 * encoding, as a sink would) with enrichment off, against the same with every enrichment on, on a
 * realistic mix — many distinct client addresses (IPv4 and IPv6, a few private), User-Agents
 * drawn from a Zipf distribution, paths with ids, browser-like headers. Rounds alternate so both
 * modes see the same machine noise; medians are reported. Lifecycles are made in chunks outside
 * the timed parts and not kept. Also: data load time, peak and final RSS over the runtime and the
 * loaded data (issue 4's budget: data + 256 MiB), cache hit rates.
 *
 *   deno run -A --v8-flags=--expose-gc scripts/bench-enrich.ts [--records 200000] [--rounds 5]
 *       [--ip-pool 150000] [--ua-pool 3000] [--threat-lists]
 * @module
 */

import { parseArgs } from "node:util";
import { defaultConfig } from "../src/config/defaults.ts";
import { createEnricher } from "../src/enrich/enricher.ts";
import { newLifecycle } from "../src/pipeline/lifecycle.ts";
import type { Lifecycle } from "../src/pipeline/lifecycle.ts";
import { buildRecord } from "../src/pipeline/record_builder.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    records: { type: "string", default: "200000" },
    rounds: { type: "string", default: "5" },
    "ua-pool": { type: "string", default: "3000" },
    "ip-pool": { type: "string", default: "150000" },
    "threat-lists": { type: "boolean", default: false },
  },
});
const N = Number(values.records), ROUNDS = Number(values.rounds);
const agent = { id: "bench", version: "0", host: "bench" };
let seed = 12345;
const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);

function userAgents(n: number): string[] {
  const os = [
    "Windows NT 10.0; Win64; x64",
    "Macintosh; Intel Mac OS X 10_15_7",
    "X11; Linux x86_64",
    "Linux; Android 14; SM-S918B",
    "Linux; Android 13; Pixel 7",
    "iPhone; CPU iPhone OS 17_4 like Mac OS X",
  ];
  const out: string[] = [];
  for (let i = 0; out.length < n; i++) {
    const o = os[i % os.length], v = 100 + (i % 40), b = i % 4;
    if (b === 0) {
      out.push(
        `Mozilla/5.0 (${o}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${v}.0.${i}.0 Safari/537.36`,
      );
    } else if (b === 1) {
      out.push(`Mozilla/5.0 (${o}; rv:${v}.0) Gecko/20100101 Firefox/${v}.${i % 10}`);
    } else if (b === 2) {
      out.push(
        `Mozilla/5.0 (${o}) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.${
          i % 6
        } Safari/605.1.15`,
      );
    } else {out.push(
        [
          "curl/8.5.0",
          "python-requests/2.31.0",
          "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
          "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
          `okhttp/4.${i % 12}.0`,
        ][i % 5],
      );}
  }
  return out;
}

function zipfPicker(n: number, s = 1.1): () => number {
  const cdf = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) cdf[i] = total += 1 / (i + 1) ** s;
  return () => {
    const x = rand() * total;
    let lo = 0, hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

function clientIp(i: number): string {
  if (i % 50 === 0) return `10.${(i >> 8) & 255}.${i & 255}.7:40000`;
  if (i % 7 === 0) {
    const h = (x: number) => Math.floor(rand() * x).toString(16);
    return `[2a0${h(16)}:${h(65536)}:${h(65536)}::${h(65536)}]:443`;
  }
  const a = 1 + Math.floor(rand() * 222);
  return `${a}.${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}.${
    1 + Math.floor(rand() * 254)
  }:51000`;
}

const uas = userAgents(Number(values["ua-pool"]));
const pickUa = zipfPicker(uas.length);
const ipPool = Array.from({ length: Number(values["ip-pool"]) }, (_, i) => clientIp(i));
const paths = [
  "/api/v1/users/{id}/orders",
  "/static/app.{id}.js",
  "/products/{id}",
  "/search",
  "/",
];
/** Lifecycles are made in chunks of this many, outside the timed parts (none are kept). */
const CHUNK = 10_000;
let made = 0;

/** The next `n` lifecycles of the mix. */
function lifecycles(n: number): Lifecycle[] {
  const out: Lifecycle[] = [];
  for (let k = 0; k < n; k++) {
    const i = made++;
    const lc = newLifecycle(`c${i}`, 2, 1_700_000_000_000 + i);
    const id = Math.floor(rand() * 1e6);
    lc.request = {
      metadata: {
        client_ip: ipPool[Math.floor(rand() * ipPool.length)],
        request_id: `r${i}`,
        route_id: "api",
        upstream_id: "b",
        timestamp: "2026-03-04T13:14:15.123Z",
      },
      method: "GET",
      uri: `${paths[i % paths.length].replace("{id}", String(id))}?page=${i % 9}&q=x`,
      headers: {
        host: ["shop.example"],
        "user-agent": [uas[pickUa()]],
        accept: ["text/html,*/*;q=0.8"],
        "accept-language": [["en-US,en;q=0.9", "de-DE,de;q=0.8", "fr-FR"][i % 3]],
        "accept-encoding": ["gzip, deflate, br"],
        "x-forwarded-for": ["198.51.100.1"],
        cookie: ["s=1"],
      },
    };
    lc.requestArrival = lc.firstArrival;
    lc.response = {
      status: i % 40 === 0 ? 503 : 200,
      headers: { "content-length": [String(id % 50000)] },
    };
    lc.responseArrival = lc.firstArrival + (i % 300);
    lc.events = 2;
    out.push(lc);
  }
  return out;
}

/** Peak resident set size of this process so far (Linux `VmHWM`), in bytes. */
function rssPeak(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(Deno.readTextFileSync("/proc/self/status"));
  return m ? Number(m[1]) * 1024 : NaN;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
const rssBefore = Deno.memoryUsage().rss; // runtime, pools of addresses and agents; no data yet
const config = defaultConfig();
if (values["threat-lists"]) {
  const fix = new URL("../tests/fixtures/threat/", import.meta.url).pathname;
  config.enrichment = {
    ...config.enrichment,
    threatLists: [
      `${fix}spamhaus-drop.txt`,
      `${fix}firehol_level1.netset`,
      `${fix}tor-exit-addresses.txt`,
    ],
  };
}
config.enrichment = { ...config.enrichment, reloadIntervalMs: 0 };
const t0 = performance.now();
const enricher = await createEnricher(config, { log: () => {} });
const loadMs = performance.now() - t0;
const rssLoaded = Deno.memoryUsage().rss;
const dataBytes = enricher.dataVersions().reduce((n, v) => n + Deno.statSync(v.path).size, 0);

let sink = 0;
/** Records built, enriched (or not) and JSON-encoded, as the pipeline does: lifecycles/s. */
function round(enrich: boolean): number {
  let ms = 0;
  for (let from = 0; from < N; from += CHUNK) {
    const part = lifecycles(Math.min(CHUNK, N - from));
    const start = performance.now();
    for (const lc of part) {
      const r = buildRecord(lc, null, agent, 1_700_000_000_100);
      if (enrich) enricher.enrich(r, lc);
      sink += JSON.stringify(r).length;
    }
    ms += performance.now() - start;
  }
  return N / (ms / 1000);
}

/** enrich() alone on records built beforehand, in chunks (the stage's own throughput). */
function stageOnly(): number {
  let ms = 0;
  for (let from = 0; from < N; from += CHUNK) {
    const part = lifecycles(Math.min(CHUNK, N - from));
    const records = part.map((lc) => buildRecord(lc, null, agent, 1_700_000_000_100));
    const start = performance.now();
    for (let i = 0; i < records.length; i++) enricher.enrich(records[i], part[i]);
    ms += performance.now() - start;
  }
  return N / (ms / 1000);
}

round(false); // warm-up both paths (JIT, caches)
round(true);
const off: number[] = [], on: number[] = [], stage: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  off.push(round(false));
  on.push(round(true));
  stage.push(stageOnly());
}
gc?.(); // with --v8-flags=--expose-gc: measure what stays, not the rounds' garbage
const rssEnd = Deno.memoryUsage().rss;
const heapEnd = Deno.memoryUsage().heapUsed;
const peak = rssPeak();
/** Issue 4's memory target: resident memory at most the loaded data plus 256 MiB. */
const RSS_BUDGET_OVER_DATA = 256 * 1048576;
const m = enricher.metricsText();
const stat = (cache: string, kind: string) =>
  Number(
    new RegExp(`telemetry_enrich_cache_${kind}_total\\{cache="${cache}"\\} (\\d+)`).exec(m)?.[1] ??
      0,
  );
const rate = (c: string) =>
  (stat(c, "hits") / Math.max(1, stat(c, "hits") + stat(c, "misses")) * 100).toFixed(1);
const MiB = (b: number) => (b / 1048576).toFixed(0);
const offM = median(off), onM = median(on);
console.log(JSON.stringify(
  {
    records_per_round: N,
    rounds: ROUNDS,
    enrichment_off_lifecycles_per_s: Math.round(offM),
    enrichment_on_lifecycles_per_s: Math.round(onM),
    ratio_on_to_off: +(onM / offM).toFixed(3),
    enrich_stage_only_records_per_s: Math.round(median(stage)),
    enrich_cost_us_per_record: +((1e6 / onM) - (1e6 / offM)).toFixed(2),
    data_load_ms: Math.round(loadMs),
    data_bytes_mib: +MiB(dataBytes),
    rss_mib: {
      before_data: +MiB(rssBefore),
      data_loaded: +MiB(rssLoaded),
      end: +MiB(rssEnd),
      peak: +MiB(peak),
    },
    heap_used_end_mib: +MiB(heapEnd),
    heap_total_end_mib: +MiB(Deno.memoryUsage().heapTotal),
    external_end_mib: +MiB(Deno.memoryUsage().external),
    // What enrichment adds beyond the runtime and the data files' own size, at the peak of the
    // run (rounds' garbage included) and at the end (after a full GC, with --expose-gc).
    rss_peak_over_data_mib: +MiB(peak - rssBefore - dataBytes),
    rss_end_over_data_mib: +MiB(rssEnd - rssBefore - dataBytes),
    rss_target: `peak over data <= ${MiB(RSS_BUDGET_OVER_DATA)} MiB: ${
      peak - rssBefore - dataBytes <= RSS_BUDGET_OVER_DATA ? "PASS" : "FAIL"
    }`,
    gc_before_end: gc !== undefined,
    cache_hit_rate_pct: { ip: +rate("ip"), user_agent: +rate("user_agent"), path: +rate("path") },
    versions: enricher.dataVersions().map((v) => v.label),
  },
  null,
  2,
));
if (sink < 0) console.log(sink);
enricher.close();
