/**
 * A validating MessagePack walker that finds the top-level `correlation_id` string of an event
 * without decoding it. Main thread (ack path). Checks that every length stays inside the frame
 * and that nesting is bounded; the worker decodes the event fully.
 * @module
 */

import type { RawString } from "./json_scan.ts";

const MAX_DEPTH = 256;
const CID = new TextEncoder().encode("correlation_id");

/**
 * Walk the map at `buf[start..)` and return the byte range of its first top-level
 * `correlation_id` string value: `undefined` when the map has none, null when the bytes are not
 * well-formed MessagePack or the top level is not a map. Bytes after the map are ignored, as
 * rmp-serde ignores them.
 */
export function scanMsgpackCid(buf: Uint8Array, start: number): RawString | undefined | null {
  const head = readHeader(buf, start);
  if (!head || head.kind !== MAP) return null;
  let i = head.next;
  let cid: RawString | undefined;
  for (let n = 0; n < head.count; n++) {
    const key = readHeader(buf, i);
    if (!key) return null;
    const isCid = key.kind === STR && key.count === CID.length && equalsAt(buf, key.next, CID);
    i = skip(buf, i, 1);
    if (i < 0) return null;
    const valueAt = i;
    i = skip(buf, i, 1);
    if (i < 0) return null;
    if (isCid && cid === undefined) {
      const v = readHeader(buf, valueAt);
      if (v && v.kind === STR) cid = { start: v.next, end: v.next + v.count };
    }
  }
  return cid;
}

const SCALAR = 0, STR = 1, BIN = 2, ARRAY = 3, MAP = 4, EXT = 5;

interface Header {
  kind: number;
  /** Payload bytes (str/bin/ext) or element count (array/map). */
  count: number;
  /** Index after the header (and after the ext type byte). */
  next: number;
}

function readHeader(b: Uint8Array, i: number): Header | null {
  if (i >= b.length) return null;
  const c = b[i];
  if (c <= 0x7f || c >= 0xe0) return { kind: SCALAR, count: 0, next: i + 1 };
  if (c <= 0x8f) return { kind: MAP, count: c & 0x0f, next: i + 1 };
  if (c <= 0x9f) return { kind: ARRAY, count: c & 0x0f, next: i + 1 };
  if (c <= 0xbf) return { kind: STR, count: c & 0x1f, next: i + 1 };
  switch (c) {
    case 0xc0:
    case 0xc2:
    case 0xc3:
      return { kind: SCALAR, count: 0, next: i + 1 };
    case 0xc4:
      return sized(b, i, BIN, 1);
    case 0xc5:
      return sized(b, i, BIN, 2);
    case 0xc6:
      return sized(b, i, BIN, 4);
    case 0xc7:
      return ext(b, i, 1);
    case 0xc8:
      return ext(b, i, 2);
    case 0xc9:
      return ext(b, i, 4);
    case 0xca:
      return fixed(b, i, 4);
    case 0xcb:
      return fixed(b, i, 8);
    case 0xcc:
    case 0xd0:
      return fixed(b, i, 1);
    case 0xcd:
    case 0xd1:
      return fixed(b, i, 2);
    case 0xce:
    case 0xd2:
      return fixed(b, i, 4);
    case 0xcf:
    case 0xd3:
      return fixed(b, i, 8);
    case 0xd4:
      return fixed(b, i, 2);
    case 0xd5:
      return fixed(b, i, 3);
    case 0xd6:
      return fixed(b, i, 5);
    case 0xd7:
      return fixed(b, i, 9);
    case 0xd8:
      return fixed(b, i, 17);
    case 0xd9:
      return sized(b, i, STR, 1);
    case 0xda:
      return sized(b, i, STR, 2);
    case 0xdb:
      return sized(b, i, STR, 4);
    case 0xdc:
      return sized(b, i, ARRAY, 2);
    case 0xdd:
      return sized(b, i, ARRAY, 4);
    case 0xde:
      return sized(b, i, MAP, 2);
    case 0xdf:
      return sized(b, i, MAP, 4);
  }
  return null; // 0xc1 is never used
}

function fixed(b: Uint8Array, i: number, size: number): Header | null {
  return i + 1 + size <= b.length ? { kind: SCALAR, count: 0, next: i + 1 + size } : null;
}

function sized(b: Uint8Array, i: number, kind: number, width: number): Header | null {
  if (i + 1 + width > b.length) return null;
  let n = 0;
  for (let k = 1; k <= width; k++) n = n * 256 + b[i + k];
  return { kind, count: n, next: i + 1 + width };
}

function ext(b: Uint8Array, i: number, width: number): Header | null {
  const h = sized(b, i, EXT, width);
  if (!h || h.next + 1 > b.length) return null;
  return { kind: EXT, count: h.count, next: h.next + 1 };
}

/** Skip one value at `i`; returns the index after it or -1 when it runs past the frame. */
function skip(b: Uint8Array, i: number, depth: number): number {
  if (depth > MAX_DEPTH) return -1;
  const h = readHeader(b, i);
  if (!h) return -1;
  if (h.kind === SCALAR) return h.next;
  if (h.kind === STR || h.kind === BIN || h.kind === EXT) {
    return h.next + h.count <= b.length ? h.next + h.count : -1;
  }
  const items = h.kind === MAP ? h.count * 2 : h.count;
  // Every element needs at least one byte: refuse counts the frame cannot hold before looping.
  if (items > b.length - h.next) return -1;
  let j = h.next;
  for (let n = 0; n < items; n++) {
    j = skip(b, j, depth + 1);
    if (j < 0) return -1;
  }
  return j;
}

function equalsAt(b: Uint8Array, at: number, word: Uint8Array): boolean {
  if (at + word.length > b.length) return false;
  for (let k = 0; k < word.length; k++) if (b[at + k] !== word[k]) return false;
  return true;
}
