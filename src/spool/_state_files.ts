/**
 * The spool's two small state files. `ack`: the delivered watermark (segment, offset), with a
 * CRC, rewritten in place; a torn write reads as absent, which replays more (duplicates by
 * batch id), never less. `checkpoint.json`: whether the run is clean, and what it held in memory
 * (not yet spooled or sent) when last written, so the next run can report a crash's bound.
 * Pipeline worker. Small async writes; never throws on a damaged file when reading.
 * @module
 */

import { crc32 } from "node:zlib";

const ACK_MAGIC = 0x4b434154; // "TACK"
const ACK_BYTES = 20;

/** The delivered watermark: every frame before (seq, offset) was delivered. */
export interface AckPosition {
  seq: number;
  offset: number;
}

/** What a run writes in its checkpoint. */
export interface Checkpoint {
  clean: boolean;
  /** Written at (ms since the epoch). */
  at: number;
  pid: number;
  heldRecords: number;
  heldEvents: number;
}

/** Encode the watermark (20 bytes). */
export function encodeAck(p: AckPosition): Uint8Array {
  const out = new Uint8Array(ACK_BYTES);
  const v = new DataView(out.buffer);
  v.setUint32(0, ACK_MAGIC, true);
  v.setBigUint64(4, BigInt(p.seq), true);
  v.setUint32(12, p.offset, true);
  v.setUint32(16, crc32(out.subarray(4, 16)) >>> 0, true);
  return out;
}

/** Read `<dir>/ack`; null when absent or damaged. */
export async function readAck(dir: string): Promise<AckPosition | null> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(`${dir}/ack`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  if (bytes.length !== ACK_BYTES) return null;
  const v = new DataView(bytes.buffer, bytes.byteOffset, ACK_BYTES);
  if (v.getUint32(0, true) !== ACK_MAGIC) return null;
  if ((crc32(bytes.subarray(4, 16)) >>> 0) !== v.getUint32(16, true)) return null;
  return { seq: Number(v.getBigUint64(4, true)), offset: v.getUint32(12, true) };
}

/** Read `<dir>/checkpoint.json`; null when absent or unreadable (a torn write). */
export async function readCheckpoint(dir: string): Promise<Checkpoint | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(`${dir}/checkpoint.json`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  try {
    const v = JSON.parse(text);
    return {
      clean: v.clean === true,
      at: Number(v.at) || 0,
      pid: Number(v.pid) || 0,
      heldRecords: Number(v.heldRecords) || 0,
      heldEvents: Number(v.heldEvents) || 0,
    };
  } catch {
    // A checkpoint torn by the crash: the previous run was not clean, its memory is unknown.
    return { clean: false, at: 0, pid: 0, heldRecords: 0, heldEvents: 0 };
  }
}

/** Write `<dir>/checkpoint.json` (small; a torn write is read back as "not clean"). */
export async function writeCheckpoint(dir: string, c: Checkpoint): Promise<void> {
  await Deno.writeTextFile(`${dir}/checkpoint.json`, JSON.stringify(c));
}
