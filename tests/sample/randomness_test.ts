import assert from "node:assert/strict";
import { hash56, keeps, threshold, traceRandomness, TWO_56 } from "../../src/sample/randomness.ts";
import { fairShare, KeyBudget, keyOf } from "../../src/sample/key_budget.ts";
import { OverloadGauge } from "../../src/sample/overload.ts";
import { resolveSampling, statusMatcher } from "../../src/sample/settings.ts";
import type { TelemetryRecord } from "../../src/record/schema.ts";

Deno.test("threshold() is 2^56 − round(p·2^56), with the ends exact", () => {
  assert.equal(threshold(1), 0);
  assert.equal(threshold(0), TWO_56);
  assert.equal(threshold(0.5), 2 ** 55);
  assert.equal(threshold(0.25), 3 * 2 ** 54);
});

Deno.test("keeps() compares all 56 bits exactly at the boundary", () => {
  const at = traceRandomness("00000000000000000080000000000000");
  const below = traceRandomness("0000000000000000007fffffffffffff");
  assert.deepEqual(at, { hi: 0x8000000, lo: 0 });
  assert.equal(keeps(at, 0.5), true);
  assert.equal(keeps(below, 0.5), false);
  assert.equal(keeps(below, 1), true);
  assert.equal(keeps(at, 0), false);
});

Deno.test("hash56() spreads sequential ids evenly", () => {
  for (const p of [0.5, 0.1, 0.01]) {
    let kept = 0;
    const n = 200_000;
    for (let i = 0; i < n; i++) if (keeps(hash56(`req-${i}`), p)) kept++;
    const sigma = Math.sqrt(n * p * (1 - p));
    assert.ok(Math.abs(kept - n * p) < 5 * sigma, `p ${p}: ${kept} of ${n}`);
  }
});

Deno.test("fairShare() gives rare keys everything and splits the rest evenly", () => {
  assert.equal(fairShare([10, 20], 100, 0), Infinity);
  const t = fairShare([5, 5, 1000, 1000], 210, 0);
  assert.ok(Math.abs(t - 100) < 1e-6, String(t));
  assert.equal(fairShare([1000, 1000], 10, 0.1), 0, "the floor alone is over budget");
  const f = fairShare([1000, 10], 300, 0.1);
  assert.ok(Math.abs(1000 * Math.max(0.1, Math.min(1, f / 1000)) + 10 - 300) < 1e-6);
});

Deno.test("KeyBudget.probability() bounds keys and rolls per interval", () => {
  const b = new KeyBudget({ targetPerSecond: 10, intervalMs: 1000, maxKeys: 3, floor: 0 }, 0);
  for (const k of ["a", "b", "c", "d", "e"]) b.probability(k, 10);
  assert.equal(b.keys, 4, "three keys plus `other`");
  for (let i = 0; i < 100; i++) b.probability("a", 20);
  b.probability("a", 1500);
  assert.ok(b.share < 10 && b.share > 0, String(b.share));
  assert.ok(b.probability("a", 1600) < 0.2);
  assert.equal(b.probability("new", 1600), 1);
});

Deno.test("keyOf() joins the named parts with - for absent ones", () => {
  const r = {
    request: { correlation_id: "c", method: "GET" },
    response: { status: 404 },
    sentinel: { route_id: "api" },
  } as unknown as TelemetryRecord;
  assert.equal(keyOf(["route", "status", "country"])(r), "api|404|-");
});

Deno.test("OverloadGauge.factor() is 1 under shed-at, the floor when full, and forgets", () => {
  const g = new OverloadGauge(0.5, 0.05);
  g.observe(10, 100, 0);
  assert.equal(g.factor(0), 1);
  g.observe(75, 100, 1);
  assert.ok(Math.abs(g.factor(1) - 0.5) < 1e-9);
  g.observe(100, 100, 2);
  assert.equal(g.factor(2), 0.05);
  g.observe(0, 100, 3);
  assert.ok(g.factor(3) < 0.2, "decays slowly");
  assert.equal(g.factor(5000), 1, "stale after a second without batches");
});

Deno.test("resolveSampling() fills defaults; statusMatcher() reads codes, classes and ranges", () => {
  const s = resolveSampling({ rate: 0.1, alwaysSampleErrors: true });
  assert.equal(s.slowMs, 1000);
  assert.equal(s.isErrorStatus(503), true);
  assert.equal(s.isErrorStatus(404), false);
  assert.equal(s.isBlockedStatus(429), true);
  const m = statusMatcher(["4xx", "500-502", 599]);
  assert.deepEqual([404, 499, 500, 502, 503, 599, 200].map(m), [
    true,
    true,
    true,
    true,
    false,
    true,
    false,
  ]);
});
