/**
 * Sampling end to end: a synthetic stream with known per-route counts, errors and multi-record
 * traces goes through the agent at `rate 0.1`; per route, `sum(sample_rate)` of the records
 * written is within 4σ of the truth (σ² = N(1−p)/p for the sampled part), every error is kept,
 * every trace is kept or dropped as a whole, and the books still balance by decision reason.
 */

import assert from "node:assert/strict";
import { accountingBooks, startAgent, sumOf } from "../helpers/agent.ts";
import { connectV2 } from "../helpers/proxy_client.ts";
import { requestHeadersEvent } from "../helpers/proxy_encode.ts";
import { readRecords } from "../helpers/records.ts";

const RATE = 0.1;
const ROUTES: [string, number][] = [["checkout", 3000], ["search", 1500], ["login", 300], [
  "admin",
  60,
]];
const TRACES = 300;
const SPANS = 4;

interface Sent {
  cid: string;
  route: string;
  status: number;
  trace?: string;
}

function stream(): Sent[] {
  const out: Sent[] = [];
  let i = 0;
  for (const [route, n] of ROUTES) {
    for (let k = 0; k < n; k++, i++) {
      out.push({ cid: `s-${route}-${k}`, route, status: i % 20 === 7 ? 503 : 200 });
    }
  }
  for (let t = 0; t < TRACES; t++) {
    const trace = (t * 2654435761 % 4294967296).toString(16).padStart(8, "0") +
      crypto.randomUUID().replace(/-/g, "").slice(8);
    for (let s = 0; s < SPANS; s++) {
      out.push({ cid: `t-${t}-${s}`, route: "traced", status: 200, trace });
    }
  }
  return out;
}

Deno.test("sampling e2e: weights estimate per-route counts, errors kept, traces whole", async () => {
  await using agent = await startAgent({
    config: `sampling {\n  rate ${RATE}\n  always-sample-errors true\n}\n` +
      `sink "file" { directory "./data"; flush-interval-ms 100; }`,
  });
  const sent = stream();
  const c = await connectV2(agent.socketPath, { encodings: ["json"] });
  for (let i = 0; i < sent.length; i++) {
    const s = sent[i];
    const headers: Record<string, string[]> = { host: ["shop.example.com"] };
    if (s.trace) headers.traceparent = [`00-${s.trace}-${"0".repeat(15)}${(i % 9) + 1}-01`];
    const ev = requestHeadersEvent(s.cid, { headers });
    (ev.metadata as Record<string, unknown>).route_id = s.route;
    await c.send("request_headers", ev);
    await c.send("response_headers", { correlation_id: s.cid, status: s.status, headers: {} });
    if (i % 200 === 199 || i === sent.length - 1) {
      for (let j = i - (i % 200); j <= i; j++) {
        await c.answer(sent[j].cid);
        await c.answer(sent[j].cid);
      }
    }
  }
  await c.close();
  const settled = (m: Map<string, number>) => {
    const b = accountingBooks(m);
    return b.inFlight === 0 && b.received === b.emitted + b.dropped;
  };
  let m = await agent.metrics();
  for (let t = 0; t < 100 && !settled(m); t++) {
    await new Promise((r) => setTimeout(r, 100));
    m = await agent.metrics();
  }
  assert.equal((await agent.stop()).code, 0);
  const records = await readRecords(agent);

  // Per-route estimates.
  const truth = new Map<string, number>(), est = new Map<string, number>();
  for (const s of sent) truth.set(s.route, (truth.get(s.route) ?? 0) + 1);
  for (const r of records) {
    const route = r.sentinel?.route_id ?? "?";
    est.set(route, (est.get(route) ?? 0) + r.sample_rate);
  }
  for (const [route, n] of truth) {
    const errors = sent.filter((s) => s.route === route && s.status >= 500).length;
    // Records of one trace share one decision: the traced route varies by whole traces.
    const sigma = route === "traced"
      ? SPANS * Math.sqrt(TRACES * (1 - RATE) / RATE)
      : Math.sqrt((n - errors) * (1 - RATE) / RATE);
    const e = est.get(route) ?? 0;
    console.log(
      `${route}: true ${n}, estimate ${e.toFixed(0)}, error ${
        (100 * (e - n) / n).toFixed(1)
      }% (bound 4σ = ${(400 * sigma / n).toFixed(1)}%)`,
    );
    assert.ok(Math.abs(e - n) <= 4 * sigma, `${route}: ${e} vs ${n}`);
  }

  // Errors are never sampled out, and carry weight 1.
  const errorsSent = sent.filter((s) => s.status >= 500).map((s) => s.cid);
  const kept = new Map(records.map((r) => [r.request.correlation_id, r]));
  assert.ok(errorsSent.length > 200);
  for (const cid of errorsSent) {
    assert.equal(kept.get(cid)?.sample_rate, 1, `error ${cid} missing or weighted`);
  }

  // A trace is kept or dropped as a whole.
  let whole = 0;
  for (let t = 0; t < TRACES; t++) {
    const n = Array.from({ length: SPANS }, (_, s) => kept.has(`t-${t}-${s}`)).filter(Boolean)
      .length;
    assert.ok(n === 0 || n === SPANS, `trace ${t}: ${n} of ${SPANS} records kept`);
    if (n === SPANS) whole++;
  }
  assert.ok(whole > 0 && whole < TRACES / 3, `${whole} traces kept`);

  // The books balance by reason: every event was emitted or dropped by the sampler.
  assert.ok(settled(m), "the pipeline settled");
  assert.equal(sumOf(m, "telemetry_ingress_events_received_total"), 2 * sent.length);
  assert.equal(sumOf(m, "telemetry_events_emitted_total"), 2 * records.length);
  assert.equal(
    m.get('telemetry_records_emitted_total{decision="kept_error"}'),
    errorsSent.length,
  );
  assert.ok(
    (m.get(
      'telemetry_events_dropped_total{intentional="true",reason="sampled_out",stage="sample"}',
    ) ??
      0) > 0,
  );
});
