import assert from "node:assert/strict";
import { backoffDelayMs, DEFAULT_BACKOFF, resolveBackoff } from "../../src/sinks/backoff.ts";

Deno.test("resolveBackoff() fills defaults: base 100 ms, cap 10 s, 5 retries", () => {
  assert.deepEqual(resolveBackoff(), { baseMs: 100, capMs: 10_000, maxRetries: 5 });
  assert.deepEqual(resolveBackoff({ maxRetries: 0 }), { ...DEFAULT_BACKOFF, maxRetries: 0 });
});

Deno.test("resolveBackoff() refuses values out of range", () => {
  assert.throws(() => resolveBackoff({ baseMs: -1 }), /'baseMs' must be a finite number >= 0/);
  assert.throws(() => resolveBackoff({ baseMs: 500, capMs: 100 }), /'capMs' must be/);
  assert.throws(() => resolveBackoff({ maxRetries: 1.5 }), /current value is 1.5/);
});

Deno.test("backoffDelayMs() doubles the bound per retry up to the cap, with full jitter", () => {
  const opts = resolveBackoff();
  const top = () => 0.999999;
  assert.deepEqual(
    [0, 1, 2, 3, 7, 8, 30].map((n) => backoffDelayMs(n, opts, top)),
    [99, 199, 399, 799, 9999, 9999, 9999],
  );
  assert.equal(backoffDelayMs(4, opts, () => 0), 0);
  assert.equal(backoffDelayMs(1, opts, () => 0.5), 100);
});
