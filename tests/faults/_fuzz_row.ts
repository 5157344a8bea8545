/**
 * Promise 6 as a row of the table: the property-based fuzz targets (tests/fuzz/_targets.ts) run
 * FUZZ_CASES cases in this process; no crash, no hang (the run ends), no unbounded allocation
 * (RSS growth bounded), and every finding is a regression test in tests/fuzz/regression_test.ts.
 * Test-only.
 * @module
 */

import assert from "node:assert/strict";
import { runAll, TARGETS } from "../fuzz/_targets.ts";
import { addRow, KNOBS } from "./_harness.ts";

export function fuzzRow(): void {
  const seed = Number(Deno.env.get("FUZZ_SEED") ?? Date.now() % 2 ** 31);
  const rss0 = Deno.memoryUsage().rss;
  const r = runAll(KNOBS.fuzzCases, seed);
  const rss = Deno.memoryUsage().rss;
  addRow({
    scenario: `malformed input: fuzz ${TARGETS.length} targets, seed ${seed}`,
    eventsIn: r.cases,
    delivered: r.cases,
    sampledOut: 0,
    dropped: {},
    lost: r.findings.length,
    lostNote: "new findings; earlier ones are regression tests in tests/fuzz/regression_test.ts",
    maxRssMiB: rss / 1048576,
    ackP99Ms: null,
    ackP99Ratio: null,
  });
  assert.deepEqual(r.findings, [], `replay with FUZZ_SEED=${seed}`);
  assert.ok(r.cases >= KNOBS.fuzzCases);
  assert.ok(rss - rss0 < 512 * 1048576, `RSS grew by ${(rss - rss0) / 1048576} MiB`);
}
