/**
 * The spool's on-disk format. A segment file starts with an 8-byte header (`TSPOOL1\n`) and
 * holds frames back to back. A frame is a 24-byte header — magic `TSPF`, payload length,
 * records, events, spooled-at (Unix seconds), CRC-32 over the header's bytes 4..20 and the
 * payload — then the payload: the batch as UTF-8 JSON `{"id": <batch id>, "records": [...]}`.
 * The magic lets a reader resynchronise after a corrupt region; the CRC catches torn and
 * flipped bytes. All integers little-endian.
 * Any thread. Pure (CRC from node:zlib, native).
 * @module
 */

import { crc32 } from "node:zlib";
import type { TelemetryRecord } from "../record/schema.ts";

/** Bytes every segment starts with. */
export const SEGMENT_MAGIC: Uint8Array = new TextEncoder().encode("TSPOOL1\n");
/** Frame header size in bytes. */
export const FRAME_HEADER_BYTES = 24;
/** `TSPF` read as a little-endian u32. */
export const FRAME_MAGIC = 0x46505354;
/** Largest payload a frame may hold (a sane bound for recovery; batches are far smaller). */
export const MAX_FRAME_PAYLOAD = 256 * 1024 * 1024;

/** One batch as it is kept in the spool. */
export interface SpooledBatch {
  id: string;
  records: TelemetryRecord[];
}

/** What a frame header says. */
export interface FrameHeader {
  payloadBytes: number;
  records: number;
  events: number;
  /** When the frame was spooled (Unix seconds). */
  atSeconds: number;
  crc: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Encode one batch as a frame (header + payload) ready to append. */
export function encodeFrame(batch: SpooledBatch, events: number, atMs = Date.now()): Uint8Array {
  const payload = encoder.encode(JSON.stringify({ id: batch.id, records: batch.records }));
  const out = new Uint8Array(FRAME_HEADER_BYTES + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, FRAME_MAGIC, true);
  view.setUint32(4, payload.length, true);
  view.setUint32(8, batch.records.length, true);
  view.setUint32(12, events, true);
  view.setUint32(16, Math.floor(atMs / 1000), true);
  out.set(payload, FRAME_HEADER_BYTES);
  view.setUint32(20, frameCrc(out.subarray(4, 20), payload), true);
  return out;
}

/** The header at `offset`, or null when the magic is not there or fewer than 24 bytes remain. */
export function readFrameHeader(bytes: Uint8Array, offset: number): FrameHeader | null {
  if (bytes.length - offset < FRAME_HEADER_BYTES) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, FRAME_HEADER_BYTES);
  if (view.getUint32(0, true) !== FRAME_MAGIC) return null;
  return {
    payloadBytes: view.getUint32(4, true),
    records: view.getUint32(8, true),
    events: view.getUint32(12, true),
    atSeconds: view.getUint32(16, true),
    crc: view.getUint32(20, true),
  };
}

/** Whether the frame at `offset` (whose header is `h`, payload complete) checks out. */
export function frameIntact(bytes: Uint8Array, offset: number, h: FrameHeader): boolean {
  const start = offset + FRAME_HEADER_BYTES;
  const payload = bytes.subarray(start, start + h.payloadBytes);
  return frameCrc(bytes.subarray(offset + 4, offset + 20), payload) === h.crc;
}

/**
 * Decode a whole frame (header and payload, as read back for replay). Throws `Error` when the
 * CRC or the JSON does not check out.
 */
export function decodeFrame(frame: Uint8Array): SpooledBatch {
  const h = readFrameHeader(frame, 0);
  if (h === null || frame.length !== FRAME_HEADER_BYTES + h.payloadBytes) {
    throw new Error("spool frame header is damaged");
  }
  if (!frameIntact(frame, 0, h)) throw new Error("spool frame checksum does not match");
  const value = JSON.parse(decoder.decode(frame.subarray(FRAME_HEADER_BYTES)));
  if (
    typeof value !== "object" || value === null || typeof value.id !== "string" ||
    !Array.isArray(value.records) || value.records.length !== h.records
  ) {
    throw new Error("spool frame payload is not a batch");
  }
  return { id: value.id, records: value.records };
}

function frameCrc(headerTail: Uint8Array, payload: Uint8Array): number {
  return crc32(payload, crc32(headerTail)) >>> 0;
}
