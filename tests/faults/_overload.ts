/**
 * Promise 4: 10× overload. The pipeline is slowed (fault injection: it stalls 50 ms per hand-off
 * batch, so it takes about a tenth of the input) while the Go load generator plays the proxy at
 * a steady rate; the same rate into an unslowed agent is the unloaded run. Ack p99 is measured
 * by the load generator from each frame's scheduled send time. Then the load stops and the
 * agent must recover by itself: queue drained, shedding off, new events delivered.
 * Test-only.
 * @module
 */

import assert from "node:assert/strict";
import { startAgent } from "../helpers/agent.ts";
import { connectV2 } from "../helpers/proxy_client.ts";
import { sendLifecycles } from "../helpers/lifecycles.ts";
import { readRecords } from "../helpers/records.ts";
import {
  addRow,
  dropsByReason,
  KNOBS,
  RssSampler,
  sampledOut,
  scrape,
  sumOf,
  until,
} from "./_harness.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const LOADGEN = `${ROOT}.cache/faults/loadgen`;
/** The pipeline stall per hand-off batch: about 10 × the 5 ms hand-off flush interval. */
const STALL_MS = 60;

interface LoadgenReport {
  events_total: number;
  answered_total: number;
  answered: number;
  events_sent: number;
  unanswered: number;
  latency_us: { p99: number };
  watched?: { vm_hwm_mib: number };
}

async function buildLoadgen(): Promise<void> {
  const src = `${ROOT}tests/bench/loadgen`;
  const fresh = await Deno.stat(LOADGEN).then(
    async (b) =>
      (b.mtime?.getTime() ?? 0) > ((await Deno.stat(`${src}/main.go`)).mtime?.getTime() ?? 0),
    () => false,
  );
  if (fresh) return;
  await Deno.mkdir(`${ROOT}.cache/faults`, { recursive: true });
  const out = await new Deno.Command("go", { args: ["build", "-o", LOADGEN, "."], cwd: src })
    .output();
  if (!out.success) throw new Error(`go build failed: ${new TextDecoder().decode(out.stderr)}`);
}

async function runLoadgen(socket: string, pid: number, seconds: number): Promise<LoadgenReport> {
  const json = await Deno.makeTempFile({ suffix: ".json" });
  const out = await new Deno.Command(LOADGEN, {
    args: [
      `-socket=${socket}`,
      `-rate=${KNOBS.overloadRate}`,
      `-duration=${seconds}s`,
      "-warmup=1s",
      "-conns=4",
      `-json-out=${json}`,
      `-watch-pid=${pid}`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`loadgen failed: ${new TextDecoder().decode(out.stderr)}`);
  const report = JSON.parse(await Deno.readTextFile(json)) as LoadgenReport;
  await Deno.remove(json);
  return report;
}

const CONFIG = `sampling { rate 1.0; }
handoff { max-events 4000; }
sink "file" { directory "./data"; batch-size 1000; flush-interval-ms 500; }`;

async function unloaded(): Promise<LoadgenReport> {
  await using agent = await startAgent({ config: CONFIG });
  const r = await runLoadgen(agent.socketPath, agent.pid, KNOBS.overloadS);
  assert.equal((await agent.stop()).code, 0);
  return r;
}

/** The overload run; returns its row figures. */
export async function overload(): Promise<void> {
  await buildLoadgen();
  const base = await unloaded();
  await using agent = await startAgent({
    config: CONFIG,
    args: ["--fault-pipeline-delay-ms", String(STALL_MS)],
  });
  const rss = new RssSampler(agent.pid);
  const before = (await scrape(agent))!;
  const t0 = performance.now();
  const over = await runLoadgen(agent.socketPath, agent.pid, KNOBS.overloadS);
  const mid = (await scrape(agent))!;
  const seconds = (performance.now() - t0) / 1000;
  const decoded = sumOf(mid, "telemetry_pipeline_events_decoded_total") -
    sumOf(before, "telemetry_pipeline_events_decoded_total");
  const factor = over.events_total / seconds / Math.max(1, decoded / seconds);
  // Recovery: the backlog drains, shedding ends, and new events go through without drops.
  const quiet = await until(async () => {
    const m = await scrape(agent);
    return m !== null && sumOf(m, "telemetry_events_in_flight") === 0 &&
      sumOf(m, "telemetry_handoff_queue_events") === 0;
  }, 120_000);
  const dropsBefore = dropsByReason((await scrape(agent))!);
  const c = await connectV2(agent.socketPath, { encodings: ["json"] });
  await sendLifecycles(c, "r", 200);
  await c.close();
  await until(
    async () => sumOf((await scrape(agent))!, "telemetry_events_in_flight") === 0,
    10_000,
  );
  const end = (await scrape(agent))!;
  const shedFactor = sumOf(end, "telemetry_sampling_shed_factor");
  const maxRss = Math.max(rss.stop(), over.watched?.vm_hwm_mib ?? 0);
  assert.equal((await agent.stop()).code, 0);
  const records = await readRecords(agent);
  const deliveredEvents = records.reduce((n, r) => n + (r.events as number), 0);
  const received = sumOf(end, "telemetry_ingress_events_received_total");
  const drops = dropsByReason(end);
  const dropped = Object.values(drops).reduce((a, b) => a + b, 0);
  const p99 = over.latency_us.p99 / 1000;
  const baseP99 = base.latency_us.p99 / 1000;
  addRow({
    scenario: `${factor.toFixed(1)}× overload for ${KNOBS.overloadS} s at ${
      KNOBS.overloadRate * 2
    } ev/s (p99 vs same rate unslowed: ${baseP99.toFixed(3)} ms)`,
    eventsIn: received,
    delivered: deliveredEvents,
    sampledOut: sampledOut(end),
    dropped: drops,
    lost: received - deliveredEvents - sampledOut(end) - dropped,
    maxRssMiB: maxRss,
    ackP99Ms: p99,
    ackP99Ratio: p99 / baseP99,
  });
  assert.ok(quiet, "the backlog drained by itself");
  assert.equal(over.unanswered, 0, "every frame answered");
  assert.equal(over.answered_total, over.events_total, "every event answered");
  assert.equal(received, over.events_total + 400, "every event sent was received");
  assert.equal(received - deliveredEvents - sampledOut(end) - dropped, 0, "lost");
  assert.ok(sampledOut(end) > 0, "the sampler shed first");
  assert.ok(dropped > 0, "then counted drops");
  assert.deepEqual(dropsByReason(end), dropsBefore, "no drops after recovery");
  assert.equal(shedFactor, 1, "shedding ended");
  assert.ok(
    records.filter((r) => String(r.request?.correlation_id).startsWith("r")).length === 200,
  );
  assert.ok(maxRss < KNOBS.rssCapMiB, `RSS ${maxRss} MiB`);
  assert.ok(p99 <= 1.5 * baseP99, `ack p99 ${p99} ms vs unloaded ${baseP99} ms`);
}
