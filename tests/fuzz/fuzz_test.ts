/**
 * Property-based fuzzing of every reader of untrusted input (tests/fuzz/_targets.ts). A quick
 * run here (FUZZ_QUICK cases, default 12 000); the fault suite runs FUZZ_CASES (default 100 000,
 * more in `deno task soak`). FUZZ_SEED replays a run; the seed is printed.
 */

import assert from "node:assert/strict";
import { runAll, TARGETS } from "./_targets.ts";

const seed = Number(Deno.env.get("FUZZ_SEED") ?? Date.now() % 2 ** 31);
const cases = Number(Deno.env.get("FUZZ_QUICK") ?? 12_000);

for (const t of TARGETS) {
  Deno.test(`fuzz ${t.name}: no crash, agrees with its oracle (seed ${seed})`, () => {
    t.run(Math.ceil(cases / TARGETS.length), seed);
  });
}

Deno.test("fuzz runAll() reports findings instead of throwing", () => {
  const r = runAll(60, seed);
  assert.equal(r.cases, 60);
  assert.deepEqual(r.findings, []);
});
