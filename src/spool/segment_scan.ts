/**
 * Recovery of one segment: walks its frames, keeps the intact ones, and measures the damage —
 * a torn tail (the last frame cut short by a crash), or a corrupt region (bytes that are not a
 * frame or fail their CRC), after which it resynchronises on the next frame magic whose header
 * and CRC check out. Never throws on bad bytes; the caller truncates a torn tail.
 * Pipeline worker (at start-up). Pure.
 * @module
 */

import {
  FRAME_HEADER_BYTES,
  FRAME_MAGIC,
  frameIntact,
  MAX_FRAME_PAYLOAD,
  readFrameHeader,
  SEGMENT_MAGIC,
} from "./frame.ts";

/** One intact frame of a segment. */
export interface FrameRef {
  offset: number;
  bytes: number;
  records: number;
  events: number;
  /** Spooled at (Unix seconds). */
  atSeconds: number;
}

/** What a scan found wrong. Records and events come from headers that survived (a floor). */
export interface Damage {
  /** Frames skipped: torn at the tail or failing their CRC. */
  frames: number;
  bytes: number;
  records: number;
  events: number;
  /** Where the intact part of the segment ends when the damage is a torn tail; else null. */
  tornTailAt: number | null;
}

/** A scanned segment. `headerOk` false: the file is not a spool segment at all. */
export interface SegmentScan {
  headerOk: boolean;
  frames: FrameRef[];
  damage: Damage;
}

/** Scan a segment's bytes. */
export function scanSegment(bytes: Uint8Array): SegmentScan {
  const damage: Damage = { frames: 0, bytes: 0, records: 0, events: 0, tornTailAt: null };
  if (!startsWithMagic(bytes)) {
    damage.bytes = bytes.length;
    return { headerOk: false, frames: [], damage };
  }
  const frames: FrameRef[] = [];
  let at = SEGMENT_MAGIC.length;
  while (at < bytes.length) {
    const h = readFrameHeader(bytes, at);
    const fits = h !== null && h.payloadBytes <= MAX_FRAME_PAYLOAD &&
      at + FRAME_HEADER_BYTES + h.payloadBytes <= bytes.length;
    if (h !== null && fits && frameIntact(bytes, at, h)) {
      const size = FRAME_HEADER_BYTES + h.payloadBytes;
      frames.push({
        offset: at,
        bytes: size,
        records: h.records,
        events: h.events,
        atSeconds: h.atSeconds,
      });
      at += size;
      continue;
    }
    const next = resync(bytes, at + 1);
    damage.frames++;
    damage.bytes += next - at;
    if (h !== null && h.payloadBytes <= MAX_FRAME_PAYLOAD) {
      damage.records += h.records;
      damage.events += h.events;
    }
    if (next >= bytes.length) damage.tornTailAt = at;
    at = next;
  }
  return { headerOk: true, frames, damage };
}

/** The offset of the next intact frame at or after `from`, or the end of `bytes`. */
function resync(bytes: Uint8Array, from: number): number {
  for (let at = from; at + FRAME_HEADER_BYTES <= bytes.length; at++) {
    if (bytes[at] !== (FRAME_MAGIC & 0xff)) continue;
    const h = readFrameHeader(bytes, at);
    if (h === null || h.payloadBytes > MAX_FRAME_PAYLOAD) continue;
    if (at + FRAME_HEADER_BYTES + h.payloadBytes > bytes.length) continue;
    if (frameIntact(bytes, at, h)) return at;
  }
  return bytes.length;
}

function startsWithMagic(bytes: Uint8Array): boolean {
  if (bytes.length < SEGMENT_MAGIC.length) return false;
  return SEGMENT_MAGIC.every((b, i) => bytes[i] === b);
}
