/**
 * Drives request lifecycles into a running agent for the sink e2e tests and the sink benchmark:
 * `sendLifecycles` writes request + response headers for `n` correlation ids (a window of them
 * per socket write, every event answered); `ackLatencies` times single events' acks.
 * Test-only helper.
 * @module
 */

import { concat } from "./frames.ts";
import type { V2Client } from "./proxy_client.ts";
import { requestHeadersEvent, responseHeadersEvent } from "./proxy_encode.ts";

/** Send `n` lifecycles `<prefix><i>` (every 10th a 503), `window` per write, each answered. */
export async function sendLifecycles(
  c: V2Client,
  prefix: string,
  n: number,
  window = 100,
): Promise<void> {
  for (let i = 0; i < n; i += window) {
    const ids: string[] = [];
    const frames: Uint8Array[] = [];
    for (let j = i; j < Math.min(n, i + window); j++) {
      const cid = `${prefix}${j}`;
      ids.push(cid);
      frames.push(c.eventFrame("request_headers", requestHeadersEvent(cid), cid));
      frames.push(
        c.eventFrame("response_headers", responseHeadersEvent(cid, j % 10 === 0 ? 503 : 200), cid),
      );
    }
    await c.write(concat(frames));
    for (const cid of ids) {
      await c.answer(cid);
      await c.answer(cid);
    }
  }
}

/** Ack latency (ms) of `k` lifecycles sent one event at a time. */
export async function ackLatencies(c: V2Client, prefix: string, k: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < k; i++) {
    const cid = `${prefix}${i}`;
    let t = performance.now();
    await c.send("request_headers", requestHeadersEvent(cid));
    await c.answer(cid);
    out.push(performance.now() - t);
    t = performance.now();
    await c.send("response_headers", responseHeadersEvent(cid));
    await c.answer(cid);
    out.push(performance.now() - t);
  }
  return out;
}

/** The 99th percentile. */
export function p99(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * 0.99))];
}

/** Poll `probe` until it returns at least `want`; throws after `limitMs`. */
export async function waitCount(
  probe: () => number | Promise<number>,
  want: number,
  what: string,
  limitMs = 30_000,
): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    const got = await probe();
    if (got >= want) return performance.now() - t0;
    if (performance.now() - t0 > limitMs) {
      throw new Error(`${what}: ${got}, want ${want} after ${limitMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
