/**
 * Fault scenarios against a sink that can really be stopped: the HTTP sink posting to the test
 * receiver (tests/helpers/http_receiver.ts), whose listener is closed for an outage. Baseline
 * (unloaded), a long outage, SIGTERM under load, and kill -9 under load, each ending in a row.
 * Test-only.
 * @module
 */

import assert from "node:assert/strict";
import { type AgentProcess, startAgent } from "../helpers/agent.ts";
import { type HttpReceiver, startReceiver } from "../helpers/http_receiver.ts";
import { connectV2 } from "../helpers/proxy_client.ts";
import {
  ackP99Ms,
  addDrops,
  addRow,
  dropsByReason,
  KNOBS,
  RssSampler,
  sampledOut,
  scrape,
  SteadyLoad,
  sumOf,
  until,
} from "./_harness.ts";

export const FSYNC_MS = 200;
export const FLUSH_MS = 200;

/** The agent's config: the HTTP sink with a spool in `spoolDir`. */
export function httpConfig(url: string, spoolDir: string): string {
  return `sampling { rate 1.0; }
shutdown-timeout-ms 5000
sink "http" {
    url "${url}"
    batch-size 200
    flush-interval-ms ${FLUSH_MS}
    timeout-ms 2000
    retry-max 3
    retry-base-ms 50
    retry-cap-ms 500
    breaker-failures 3
    breaker-cooldown-ms 500
    breaker-max-cooldown-ms 2000
    max-queue-records 20000
}
spool {
    directory "${spoolDir}"
    max-bytes 536870912
    fsync-ms ${FSYNC_MS}
    full-policy "drop-oldest"
}`;
}

/** Correlation id → events delivered (unique by correlation id), and the arrival order. */
function delivered(rx: HttpReceiver): { events: Map<string, number>; order: string[] } {
  const events = new Map<string, number>();
  const order: string[] = [];
  for (const r of rx.records()) {
    const cid = (r.request as { correlation_id: string }).correlation_id;
    if (!events.has(cid)) order.push(cid);
    events.set(cid, r.events as number);
  }
  return { events, order };
}

function sumValues(m: Map<string, number>): number {
  let t = 0;
  for (const v of m.values()) t += v;
  return t;
}

/** Records of one load arrive in the order they were sent. */
function assertInOrder(order: string[], prefix: string): void {
  const seq = order.filter((c) => c.startsWith(prefix)).map((c) => Number(c.slice(prefix.length)));
  for (let i = 1; i < seq.length; i++) {
    assert.ok(seq[i] > seq[i - 1], `out of order at ${i}: ${seq[i - 1]} then ${seq[i]}`);
  }
}

interface Ctx {
  rx: HttpReceiver;
  spoolDir: string;
}

async function withReceiver(fn: (ctx: Ctx) => Promise<void>): Promise<void> {
  const rx = await startReceiver();
  const spoolDir = await Deno.makeTempDir({ prefix: "telemetry-faults-spool-" });
  try {
    await fn({ rx, spoolDir });
  } finally {
    await rx.stop();
    await Deno.remove(spoolDir, { recursive: true });
  }
}

/** Wait until every acked event is delivered (or `limitMs` passes). */
async function waitDelivered(rx: HttpReceiver, acked: number, limitMs: number): Promise<void> {
  await until(() => sumValues(delivered(rx).events) >= acked, limitMs);
}

let baselineP99: number | null = null;

/** The unloaded run: the same rate into a healthy sink; anchors the p99 ratios. */
export async function baseline(): Promise<void> {
  await withReceiver(async ({ rx, spoolDir }) => {
    const agent = await startAgent({ config: httpConfig(rx.url, spoolDir) });
    const rss = new RssSampler(agent.pid);
    const c = await connectV2(agent.socketPath, { encodings: ["json"] });
    const load = new SteadyLoad(c, "b", KNOBS.rate);
    load.start();
    await new Promise((r) => setTimeout(r, 10_000));
    await load.stop();
    await until(() => load.acked >= load.lifecyclesSent * 2, 5000);
    await waitDelivered(rx, load.acked, 20_000);
    const m = (await scrape(agent))!;
    await c.close();
    assert.equal((await agent.stop()).code, 0);
    const got = delivered(rx);
    baselineP99 = ackP99Ms(m);
    addRow({
      scenario: "baseline: healthy sink (unloaded)",
      eventsIn: load.acked,
      delivered: sumValues(got.events),
      sampledOut: sampledOut(m),
      dropped: dropsByReason(m),
      lost: load.acked - sumValues(got.events) - sampledOut(m),
      maxRssMiB: rss.stop(),
      ackP99Ms: baselineP99,
      ackP99Ratio: 1,
    });
    assert.equal(sumValues(got.events), load.acked);
    await Deno.remove(agent.tmpDir, { recursive: true });
  });
}

function ratio(p99: number | null): number | null {
  return p99 === null || baselineP99 === null || baselineP99 === 0 ? null : p99 / baselineP99;
}

/** Promise 1: the sink is down for KNOBS.outageS under steady input; nothing is lost. */
export async function sinkOutage(): Promise<void> {
  await withReceiver(async ({ rx, spoolDir }) => {
    await using agent = await startAgent({ config: httpConfig(rx.url, spoolDir) });
    const rss = new RssSampler(agent.pid);
    const c = await connectV2(agent.socketPath, { encodings: ["json"] });
    const load = new SteadyLoad(c, "o", KNOBS.rate);
    load.start();
    await new Promise((r) => setTimeout(r, 2000));
    await rx.stop();
    const outageEnds = performance.now() + KNOBS.outageS * 1000;
    let spooledDuring = 0;
    while (performance.now() < outageEnds) {
      await new Promise((r) => setTimeout(r, 1000));
      assert.ok(rss.max() < KNOBS.rssCapMiB, `RSS ${rss.max()} MiB during the outage`);
      const m = await scrape(agent);
      if (m) spooledDuring = Math.max(spooledDuring, sumOf(m, "telemetry_spool_events"));
    }
    const health = await (await fetch(agent.metricsUrl!.replace("/metrics", "/healthz"))).json();
    await rx.restart();
    await new Promise((r) => setTimeout(r, 2000));
    await load.stop();
    await until(() => load.acked >= load.lifecyclesSent * 2, 5000);
    await waitDelivered(rx, load.acked, 60_000 + KNOBS.outageS * 1000);
    const m = (await scrape(agent))!;
    const got = delivered(rx);
    const lost = load.acked - sumValues(got.events) - sampledOut(m) -
      Object.values(dropsByReason(m)).reduce((a, b) => a + b, 0);
    addRow({
      scenario: `sink down ${KNOBS.outageS} s at ${KNOBS.rate * 2} ev/s`,
      eventsIn: load.acked,
      delivered: sumValues(got.events),
      sampledOut: sampledOut(m),
      dropped: dropsByReason(m),
      lost,
      maxRssMiB: rss.stop(),
      ackP99Ms: ackP99Ms(m),
      ackP99Ratio: ratio(ackP99Ms(m)),
    });
    assert.ok(spooledDuring > 0, "the outage went to the spool");
    assert.ok(Array.isArray(health.spool) && health.spool[0].records > 0, JSON.stringify(health));
    assert.equal(lost, 0);
    assert.equal(sumValues(got.events), load.acked, "every acked event delivered");
    assertInOrder(got.order, "o");
    assert.ok(rss.max() < KNOBS.rssCapMiB);
    await c.close();
  });
}

/** Promise 2: SIGTERM under load with the sink down; a NEW process delivers the rest. */
export async function sigtermUnderLoad(): Promise<void> {
  await withReceiver(async ({ rx, spoolDir }) => {
    const first = await startAgent({ config: httpConfig(rx.url, spoolDir) });
    const rss = new RssSampler(first.pid);
    const c = await connectV2(first.socketPath, { encodings: ["json"] });
    const load = new SteadyLoad(c, "t", KNOBS.rate);
    load.start();
    await new Promise((r) => setTimeout(r, 1500));
    await rx.stop();
    await new Promise((r) => setTimeout(r, KNOBS.loadS * 1000));
    const m1 = (await scrape(first))!;
    first.signal("SIGTERM");
    const { code } = await first.stop();
    await load.stop();
    await c.close();
    assert.equal(code, 0);
    const stopped = first.logs().find((l) => l.msg === "stopped");
    await rx.restart();
    const second = await startAgent({ config: httpConfig(rx.url, spoolDir) });
    await waitDelivered(rx, load.acked, 60_000);
    const m2 = (await scrape(second))!;
    assert.equal((await second.stop()).code, 0);
    const got = delivered(rx);
    const drops = dropsByReason(m1);
    addDrops(drops, dropsByReason(m2));
    const lost = load.acked - sumValues(got.events) - sampledOut(m1) -
      Object.values(drops).reduce((a, b) => a + b, 0);
    addRow({
      scenario: "SIGTERM under load, sink down; next start delivers",
      eventsIn: load.acked,
      delivered: sumValues(got.events),
      sampledOut: sampledOut(m1),
      dropped: drops,
      lost,
      maxRssMiB: rss.stop(),
      ackP99Ms: ackP99Ms(m1),
      ackP99Ratio: ratio(ackP99Ms(m1)),
    });
    assert.equal(stopped?.complete, true, "drain says nothing was lost");
    assert.equal(lost, 0);
    assertInOrder(got.order, "t");
    for (const a of [first, second]) await Deno.remove(a.tmpDir, { recursive: true });
  });
}

/** Promise 3: kill -9 under load; lost ≤ what the window allows, and the agent reports it. */
export async function kill9UnderLoad(): Promise<void> {
  await withReceiver(async ({ rx, spoolDir }) => {
    const first = await startAgent({ config: httpConfig(rx.url, spoolDir) });
    const rss = new RssSampler(first.pid);
    const c = await connectV2(first.socketPath, { encodings: ["json"] });
    const load = new SteadyLoad(c, "k", KNOBS.rate);
    load.start();
    await new Promise((r) => setTimeout(r, 1500));
    await rx.stop();
    await new Promise((r) => setTimeout(r, KNOBS.loadS * 1000));
    const m1 = (await scrape(first))!;
    const killedAt = performance.now();
    first.signal("SIGKILL");
    await first.stop();
    await load.stop();
    await c.close();
    const maxRss = rss.stop();
    await rx.restart();
    const second = await startAgent({ config: httpConfig(rx.url, spoolDir) });
    const acked = load.ackCounts();
    const ackedEvents = [...acked.values()].reduce((a, b) => a + b, 0);
    await until(async () => {
      const m = await scrape(second);
      return m !== null && sumOf(m, "telemetry_spool_records_recovered_total") > 0 &&
        sumOf(m, "telemetry_spool_records") === 0;
    }, 30_000);
    await waitDelivered(rx, ackedEvents, 2000);
    const m2 = (await scrape(second))!;
    assert.equal((await second.stop()).code, 0);
    const got = delivered(rx);
    const times = load.ackTimes();
    const windowMs = FSYNC_MS + FLUSH_MS + 300;
    let lost = 0;
    let lateLost = 0;
    for (const [cid, n] of acked) {
      const missing = n - Math.min(n, got.events.get(cid) ?? 0);
      lost += missing;
      if (missing > 0 && times.get(cid)! < killedAt - windowMs) lateLost += missing;
    }
    let inWindow = 0;
    for (const [cid, t] of times) if (t >= killedAt - windowMs) inWindow += acked.get(cid)!;
    const reported = sumOf(m2, "telemetry_spool_crash_held_events") +
      sumOf(m2, "telemetry_spool_torn_events_total");
    const drops = dropsByReason(m1);
    addDrops(drops, dropsByReason(m2));
    addRow({
      scenario: "kill -9 under load, sink down; next start delivers",
      eventsIn: ackedEvents,
      delivered: sumValues(got.events),
      sampledOut: sampledOut(m1),
      dropped: drops,
      lost,
      lostNote: `bound ${inWindow} = acked in last ${windowMs} ms; agent reported ${reported}`,
      maxRssMiB: maxRss,
      ackP99Ms: ackP99Ms(m1),
      ackP99Ratio: ratio(ackP99Ms(m1)),
    });
    assert.equal(sumOf(m2, "telemetry_spool_unclean_stops_total"), 1, "the crash is reported");
    assert.ok(
      second.logs().some((l) => String(l.msg).startsWith("previous run stopped without closing")),
    );
    assert.equal(lateLost, 0, "nothing acked before the window is lost");
    assert.ok(lost <= inWindow, `lost ${lost} <= ${inWindow}`);
    assert.ok(reported <= inWindow + 1000, `reported ${reported} is within the window`);
    for (const a of [first, second]) await Deno.remove(a.tmpDir, { recursive: true });
  });
}

export type { AgentProcess };
