/**
 * Cost per record of the sampling and redaction stages against the pipeline without them, all
 * measured in one run on one synthetic stream (70% clean requests, 30% with PII in the path,
 * query and headers). Variants are interleaved round by round and the median round is reported,
 * so machine noise hits them alike; compare the ratios, not the absolute numbers.
 *
 *   deno run -A scripts/bench-pipeline-stages.ts [--records 20000] [--rounds 7]
 *     [--pii-share 0,0.3] [--json]
 *
 * Also callable as `benchPipelineStages({ records, rounds })` from scripts/bench.ts.
 * @module
 */

import { parseArgs } from "node:util";
import type { RedactionConfig, SamplingConfig } from "../src/config/types.ts";
import { type Lifecycle, newLifecycle } from "../src/pipeline/lifecycle.ts";
import { buildRecord } from "../src/pipeline/record_builder.ts";
import { KeyedHasher } from "../src/redact/keyed_hash.ts";
import { headerCopyLists, resolvePolicy } from "../src/redact/policy.ts";
import { Redactor } from "../src/redact/redactor.ts";
import { isKept, Sampler } from "../src/sample/sampler.ts";
import { Corpus } from "../tests/redact/_corpus.ts";

const AGENT = { id: "bench", version: "0", host: "bench" };
const ALL_PRESETS: RedactionConfig = {
  presets: ["gdpr", "pci", "hipaa"],
  detectors: { email: "hash" },
  credentialAction: "hash",
  hashKeyFile: "unused",
  keyId: "k1",
};

/** One variant's result. */
export interface StageResult {
  variant: string;
  nsPerRecord: number;
  /** Over the base pipeline (build + encode) measured in the same rounds. */
  ratio: number;
  /** Added cost over the base, ns per record. */
  addedNs: number;
}

function lifecycles(n: number, piiShare: number): Lifecycle[] {
  const c = new Corpus(11);
  const out: Lifecycle[] = [];
  for (let i = 0; i < n; i++) {
    const lc = newLifecycle(`${crypto.randomUUID()}`, 2, 1000);
    const pii = (i % 100) < piiShare * 100;
    const req = pii ? c.request(i) : null;
    lc.request = {
      metadata: {
        correlation_id: lc.cid,
        client_ip: `${c.ipv4()}:443`,
        route_id: c.pick(["api", "web", "static", "auth"]),
        timestamp: "2026-03-01T12:00:00.123Z",
      },
      method: req?.method ?? "GET",
      uri: req?.uri ??
        `/api/v2/products/${c.int(1, 99999)}?page=${c.int(1, 20)}&sort=price&lang=en-US`,
      headers: req?.headers ?? {
        host: ["shop.example.com"],
        "user-agent": ["Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0.0.0"],
        accept: ["text/html,application/xhtml+xml"],
        "accept-language": ["en-US,en;q=0.9"],
        referer: ["https://shop.example.com/search?q=shoes"],
        cookie: ["sid=abc"],
      },
    };
    lc.requestArrival = 1000;
    lc.response = {
      status: c.pick([200, 200, 200, 304, 404, 500]),
      headers: { "content-type": ["text/html"] },
    };
    lc.responseArrival = 1012;
    lc.events = 2;
    out.push(lc);
  }
  return out;
}

type Step = (lcs: Lifecycle[]) => number;

function variants(): [string, Step][] {
  const key = new TextEncoder().encode("bench-secret-0123456789abcdef");
  const defaults = resolvePolicy(undefined);
  const strict = resolvePolicy(ALL_PRESETS);
  const redDefault = new Redactor(defaults, null, () => {});
  const redStrict = new Redactor(strict, new KeyedHasher(key, "k1"), () => {});
  const hDefault = headerCopyLists(defaults), hStrict = headerCopyLists(strict);
  const rate: SamplingConfig = { rate: 0.1, alwaysSampleErrors: true };
  const keys: SamplingConfig = { ...rate, keys: ["route", "status"], targetRecordsPerSecond: 500 };
  const sRate = new Sampler(rate), sKeys = new Sampler(keys);
  const run = (f: (lc: Lifecycle) => string | null): Step => (lcs) => {
    let bytes = 0;
    for (const lc of lcs) bytes += f(lc)?.length ?? 0;
    return bytes;
  };
  const build = (lc: Lifecycle, h = hDefault) => buildRecord(lc, null, AGENT, 1020, h);
  return [
    ["base: build + encode", run((lc) => JSON.stringify(build(lc)))],
    [
      "+ sample decide (rate 0.1)",
      run((lc) => {
        const r = build(lc);
        sRate.decide(r);
        return JSON.stringify(r);
      }),
    ],
    [
      "+ sample decide (keys route,status)",
      run((lc) => {
        const r = build(lc);
        sKeys.decide(r);
        return JSON.stringify(r);
      }),
    ],
    [
      "+ redact (safe defaults)",
      run((lc) => {
        const r = build(lc);
        redDefault.apply(r);
        return JSON.stringify(r);
      }),
    ],
    [
      "+ redact (gdpr+pci+hipaa, hashing)",
      run((lc) => {
        const r = build(lc, hStrict);
        redStrict.apply(r);
        return JSON.stringify(r);
      }),
    ],
    [
      "full: sample 0.1, redact kept",
      run((lc) => {
        const r = build(lc);
        if (!isKept(sRate.decide(r))) return null;
        redDefault.apply(r);
        return JSON.stringify(r);
      }),
    ],
  ];
}

/** Run the benchmark; returns one result per variant (base first). */
export function benchPipelineStages(
  opts: { records?: number; rounds?: number; piiShare?: number } = {},
): StageResult[] {
  const lcs = lifecycles(opts.records ?? 20_000, opts.piiShare ?? 0.3);
  const vs = variants();
  const times: number[][] = vs.map(() => []);
  for (const [, step] of vs) step(lcs.slice(0, 2000)); // warm up the JIT
  for (let round = 0; round < (opts.rounds ?? 7); round++) {
    vs.forEach(([, step], i) => {
      const t0 = performance.now();
      step(lcs);
      times[i].push(((performance.now() - t0) * 1e6) / lcs.length);
    });
  }
  const med = times.map((t) => t.sort((a, b) => a - b)[Math.floor(t.length / 2)]);
  return vs.map(([variant], i) => ({
    variant,
    nsPerRecord: Math.round(med[i]),
    ratio: Math.round((med[i] / med[0]) * 100) / 100,
    addedNs: Math.round(med[i] - med[0]),
  }));
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      records: { type: "string", default: "20000" },
      rounds: { type: "string", default: "7" },
      "pii-share": { type: "string", default: "0,0.3" },
      json: { type: "boolean", default: false },
    },
  });
  const all: Record<string, StageResult[]> = {};
  for (const share of values["pii-share"].split(",").map(Number)) {
    const results = benchPipelineStages({
      records: Number(values.records),
      rounds: Number(values.rounds),
      piiShare: share,
    });
    all[String(share)] = results;
    if (values.json) continue;
    console.log(
      `\n${Math.round(share * 100)}% of requests carry PII (about 19 values each); ` +
        `records ${values.records}, median of ${values.rounds} rounds`,
    );
    for (const r of results) {
      console.log(
        `${r.variant.padEnd(38)} ${String(r.nsPerRecord).padStart(7)} ns/record  ×${
          r.ratio.toFixed(2)
        }  (+${r.addedNs} ns)`,
      );
    }
  }
  if (values.json) console.log(JSON.stringify(all, null, 2));
}
