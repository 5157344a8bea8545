/**
 * The 56 bits of randomness a sampling decision compares with its threshold, as OpenTelemetry's
 * consistent probability sampling defines it: the W3C trace id's low 56 bits (random in every
 * version-00 trace id), so every agent and proxy that samples by trace id keeps or drops a trace
 * as a whole; without a trace id, a 56-bit hash of the correlation id (the proxy's id, taken from
 * the client's `x-request-id`/`x-correlation-id`, so it is shared along a request's path).
 * Keep iff randomness ≥ threshold(p) = 2^56 − round(p·2^56), compared exactly. Pure; pipeline
 * worker.
 * @module
 */

import type { TelemetryRecord } from "../record/schema.ts";

/** 2^56: one more than the largest randomness value. */
export const TWO_56 = 2 ** 56;

/** The rejection threshold for probability `p` (0..1): keep iff randomness ≥ it. */
export function threshold(p: number): number {
  if (p >= 1) return 0;
  if (p <= 0) return TWO_56;
  return TWO_56 - Math.round(p * TWO_56);
}

const TWO_28 = 2 ** 28;

/**
 * A record's randomness as two exact 28-bit halves (56 bits do not fit a double exactly): the
 * trace id's low 56 bits, else a hash of the correlation id.
 */
export interface Randomness {
  hi: number;
  lo: number;
}

/** Randomness of a record: trace id bits, else a hash of the correlation id. */
export function randomness(record: TelemetryRecord): Randomness {
  const t = record.request.trace_id;
  if (t !== undefined && t.length === 32) return traceRandomness(t);
  return hash56(record.request.correlation_id);
}

/** Whether randomness `r` passes probability `p`'s threshold (compared exactly, in halves). */
export function keeps(r: Randomness, p: number): boolean {
  if (p >= 1) return true;
  if (p <= 0) return false;
  const t = threshold(p);
  const hi = Math.floor(t / TWO_28), lo = t - hi * TWO_28;
  return r.hi > hi || (r.hi === hi && r.lo >= lo);
}

/** The low 56 bits (last 14 hex digits) of a 32-hex-digit trace id. */
export function traceRandomness(traceId: string): Randomness {
  return { hi: parseInt(traceId.slice(18, 25), 16), lo: parseInt(traceId.slice(25, 32), 16) };
}

/** A 56-bit hash: two seeded 32-bit mixes of the UTF-16 code units, each finalised (fmix32). */
export function hash56(s: string): Randomness {
  let a = 0x9747b28c, b = 0x2f6b3c51;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  a = fmix32(a ^ s.length);
  b = fmix32(b ^ Math.imul(s.length, 0x85ebca6b));
  return { hi: a >>> 4, lo: b >>> 4 };
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
