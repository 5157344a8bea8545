import assert from "node:assert/strict";
import type { SamplingConfig } from "../../src/config/types.ts";
import type { TelemetryRecord } from "../../src/record/schema.ts";
import { isKept, type SampleDecision, Sampler } from "../../src/sample/sampler.ts";

function rec(i: number, o: Partial<{
  status: number;
  route: string;
  trace: string;
  upstreamMs: number;
  partial: "no_response";
  error: string;
  threat: Record<string, unknown>;
}> = {}): TelemetryRecord {
  const r: TelemetryRecord = {
    schema_version: 1,
    event_id: `e${i}`,
    timestamp: "2026-03-01T00:00:00.000Z",
    sample_rate: 1,
    partial: o.partial !== undefined,
    events: 2,
    agent: { id: "a", version: "0", host: "h" },
    request: { correlation_id: `cid-${i}`, method: "GET", path: "/x" },
    response: { status: o.status ?? 200, status_class: `${Math.floor((o.status ?? 200) / 100)}xx` },
    timing: { upstream_ms: o.upstreamMs ?? 5, source: "agent" },
    sentinel: { route_id: o.route ?? "r" },
  };
  if (o.trace) r.request.trace_id = o.trace;
  if (o.partial) {
    r.partial_reason = o.partial;
    delete r.response;
  }
  if (o.error) r.sentinel!.error = o.error;
  if (o.threat) r.threat = o.threat;
  return r;
}

const cfg = (c: Partial<SamplingConfig> = {}): SamplingConfig => ({
  rate: 0.1,
  alwaysSampleErrors: true,
  ...c,
});

function run(s: Sampler, records: TelemetryRecord[]): Map<SampleDecision, number> {
  const out = new Map<SampleDecision, number>();
  for (const r of records) {
    const d = s.decide(r);
    out.set(d, (out.get(d) ?? 0) + 1);
  }
  return out;
}

Deno.test("Sampler.decide() keeps errors, blocked, threats and slow requests with weight 1", () => {
  const s = new Sampler(cfg({ rate: 0 }));
  const cases: [TelemetryRecord, SampleDecision][] = [
    [rec(1, { status: 503 }), "kept_error"],
    [rec(2, { error: "upstream_timeout" }), "kept_error"],
    [rec(3, { status: 403 }), "kept_blocked"],
    [rec(4, { status: 429 }), "kept_blocked"],
    [rec(5, { partial: "no_response" }), "kept_blocked"],
    [rec(6, { threat: { is_known_bad: true } }), "kept_threat"],
    [rec(7, { upstreamMs: 1500 }), "kept_slow"],
    [rec(8), "sampled_out"],
    [rec(9, { status: 404 }), "sampled_out"],
  ];
  for (const [r, want] of cases) {
    assert.equal(s.decide(r), want, JSON.stringify(r.response ?? r.partial_reason));
    if (isKept(want)) assert.equal(r.sample_rate, 1);
  }
});

Deno.test("Sampler.decide() priority keeps follow their settings", () => {
  const s = new Sampler(cfg({
    rate: 0,
    alwaysSampleErrors: false,
    keepBlocked: false,
    keepThreats: true,
    threatScore: 70,
    slowMs: 0,
    errorStatuses: ["5xx", 499],
  }));
  assert.equal(s.decide(rec(1, { status: 503 })), "sampled_out");
  assert.equal(s.decide(rec(2, { status: 403 })), "sampled_out");
  assert.equal(s.decide(rec(3, { upstreamMs: 99_999 })), "sampled_out");
  assert.equal(s.decide(rec(4, { threat: { score: 71 } })), "kept_threat");
  assert.equal(s.decide(rec(5, { threat: { score: 69 } })), "sampled_out");
  s.configure(cfg({ rate: 0, errorStatuses: ["5xx", 499] }));
  assert.equal(s.decide(rec(6, { status: 499 })), "kept_error");
  assert.equal(s.decide(rec(7, { status: 404 })), "sampled_out");
});

Deno.test("Sampler.decide() weights estimate the true count within 4 sigma", () => {
  for (const rate of [0.5, 0.1, 0.01]) {
    const s = new Sampler(cfg({ rate, slowMs: 0 }));
    const n = 100_000;
    let sum = 0, kept = 0;
    for (let i = 0; i < n; i++) {
      const r = rec(i);
      if (isKept(s.decide(r))) {
        sum += r.sample_rate;
        kept++;
      }
    }
    const sigma = Math.sqrt(n * (1 - rate) / rate);
    assert.ok(Math.abs(sum - n) <= 4 * sigma, `rate ${rate}: sum ${sum} vs ${n} (σ ${sigma})`);
    assert.ok(kept > 0);
  }
});

Deno.test("Sampler.decide() keeps or drops a trace as a whole, across samplers", () => {
  const a = new Sampler(cfg({ rate: 0.3 }));
  const b = new Sampler(cfg({ rate: 0.3 }));
  let keptTraces = 0;
  for (let t = 0; t < 2000; t++) {
    const trace = crypto.randomUUID().replace(/-/g, "");
    const decisions = new Set<boolean>();
    for (let span = 0; span < 5; span++) {
      const s = span % 2 ? a : b;
      decisions.add(isKept(s.decide(rec(t * 10 + span, { trace }))));
    }
    assert.equal(decisions.size, 1, `trace ${trace} split`);
    if (decisions.has(true)) keptTraces++;
  }
  assert.ok(keptTraces > 450 && keptTraces < 750, `${keptTraces} of 2000 traces kept at 0.3`);
});

Deno.test("Sampler.decide() follows OpenTelemetry's threshold rule on the trace id", () => {
  const s = new Sampler(cfg({ rate: 0.5 }));
  // Randomness = the trace id's low 56 bits; p = 0.5 keeps exactly those ≥ 2^55.
  const d1 = s.decide(rec(1, { trace: "0af7651916cd43dd0080000000000000" }));
  const d2 = s.decide(rec(2, { trace: "0af7651916cd43dd007fffffffffffff" }));
  const d3 = s.decide(rec(3, { trace: "ffffffffffffffffff7fffffffffffff" }));
  assert.deepEqual([d1, d2, d3], ["kept_rate", "sampled_out", "sampled_out"]);
});

Deno.test("Sampler.decide() with keys keeps rare keys whole and samples frequent ones", () => {
  let now = 0;
  const s = new Sampler(
    cfg({ rate: 0.001, keys: ["route"], targetRecordsPerSecond: 200, intervalMs: 1000 }),
    { now: () => now },
  );
  // Budget 200/s; per 1 s interval: route "hot" 5000, "warm" 500, "rare-N" 5 each for 10 routes.
  const truth = new Map<string, number>();
  const est = new Map<string, number>();
  const kept = new Map<string, number>();
  let i = 0;
  for (let sec = 0; sec < 30; sec++) {
    const batch: string[] = [];
    for (let k = 0; k < 5000; k++) batch.push("hot");
    for (let k = 0; k < 500; k++) batch.push("warm");
    for (let r = 0; r < 10; r++) for (let k = 0; k < 5; k++) batch.push(`rare-${r}`);
    for (let j = 0; j < batch.length; j++) {
      now = sec * 1000 + (j * 1000) / batch.length;
      const route = batch[j];
      const r = rec(i++, { route });
      truth.set(route, (truth.get(route) ?? 0) + 1);
      if (isKept(s.decide(r))) {
        est.set(route, (est.get(route) ?? 0) + r.sample_rate);
        kept.set(route, (kept.get(route) ?? 0) + 1);
      }
    }
  }
  for (const [route, n] of truth) {
    assert.ok(
      Math.abs((est.get(route) ?? 0) - n) <= 0.1 * n,
      `${route}: ${est.get(route)} vs ${n}`,
    );
  }
  assert.equal(kept.get("rare-3"), truth.get("rare-3"), "a rare key is kept whole");
  const total = [...kept.values()].reduce((a, b) => a + b, 0);
  assert.ok(total / 30 < 200 * 1.5, `${total / 30} records/s kept, budget 200`);
  assert.ok((kept.get("hot") ?? 0) < (truth.get("hot") ?? 0) / 20);
});

Deno.test("Sampler.decide() sheds under overload before anything else, keeping errors", () => {
  const s = new Sampler(cfg({ rate: 1, shedAt: 0.5, shedFloor: 0.05 }));
  const calm = run(s, Array.from({ length: 1000 }, (_, i) => rec(i)));
  assert.equal(calm.get("kept_rate"), 1000);
  s.observeLoad(95_000, 100_000);
  const stats = s.stats();
  assert.ok(stats.shedFactor < 0.2 && stats.shedFactor >= 0.05, JSON.stringify(stats));
  const busy = run(s, Array.from({ length: 5000 }, (_, i) => rec(10_000 + i)));
  const shed = busy.get("shed") ?? 0;
  assert.ok(shed > 3500, JSON.stringify([...busy]));
  assert.equal(busy.get("sampled_out"), undefined, "at rate 1 only shedding drops");
  const errors = run(s, Array.from({ length: 200 }, (_, i) => rec(20_000 + i, { status: 502 })));
  assert.equal(errors.get("kept_error"), 200);
});

Deno.test("Sampler.decide() under overload keeps rare keys whole while hot keys tighten", () => {
  let now = 0;
  const s = new Sampler(
    cfg({ rate: 0.01, keys: ["route"], targetRecordsPerSecond: 100, intervalMs: 1000 }),
    { now: () => now },
  );
  let i = 0;
  const feed = (sec: number) => {
    const kept = new Map<string, number>();
    for (let j = 0; j < 2020; j++) {
      now = sec * 1000 + j / 2.02;
      const route = j < 2000 ? "hot" : `rare-${j % 4}`;
      const r = rec(i++, { route });
      if (isKept(s.decide(r))) kept.set(route, (kept.get(route) ?? 0) + 1);
    }
    return kept;
  };
  feed(0);
  const calm = feed(1);
  now = 2000;
  s.observeLoad(90, 100);
  const busy = feed(2);
  assert.equal(busy.get("rare-1"), 5, "rare keys kept whole under overload");
  assert.ok(
    (busy.get("hot") ?? 0) < (calm.get("hot") ?? 0) / 2,
    `${busy.get("hot")} vs ${calm.get("hot")}`,
  );
});

Deno.test("Sampler.decide() is deterministic for a correlation id", () => {
  const a = new Sampler(cfg({ rate: 0.2 }));
  const b = new Sampler(cfg({ rate: 0.2 }));
  for (let i = 0; i < 1000; i++) assert.equal(a.decide(rec(i)), b.decide(rec(i)));
});
