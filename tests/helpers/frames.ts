/**
 * Wire framing as the proxy does it (PROTOCOL.md §1): v1 `u32be N` + JSON body; v2 `u32be N` +
 * type byte + payload, N counting the type byte. Plus a streaming decoder for the agent's answers.
 * Test-only helper.
 * @module
 */

/** v2 message type bytes (PROTOCOL.md §3.2). */
export const MSG = {
  HANDSHAKE_REQUEST: 0x01,
  HANDSHAKE_RESPONSE: 0x02,
  REQUEST_HEADERS: 0x10,
  REQUEST_BODY_CHUNK: 0x11,
  RESPONSE_HEADERS: 0x12,
  RESPONSE_BODY_CHUNK: 0x13,
  REQUEST_COMPLETE: 0x14,
  WEBSOCKET_FRAME: 0x15,
  GUARDRAIL_INSPECT: 0x16,
  CONFIGURE: 0x17,
  AGENT_RESPONSE: 0x20,
  CANCEL: 0x40,
  PING: 0x41,
  PONG: 0x42,
} as const;

/** Event names in v2 type-byte order: `EVENT_NAMES[type - 0x10]`. */
export const EVENT_NAMES = [
  "request_headers",
  "request_body_chunk",
  "response_headers",
  "response_body_chunk",
  "request_complete",
  "websocket_frame",
  "guardrail_inspect",
  "configure",
] as const;

export type EventName = typeof EVENT_NAMES[number];

/** The v2 type byte of an event name. */
export function eventType(name: EventName): number {
  return 0x10 + EVENT_NAMES.indexOf(name);
}

/** Largest v1 body: 10 MiB. */
export const V1_MAX = 10 * 1024 * 1024;
/** Largest v2 N (type byte + payload): 16 MiB. */
export const V2_MAX = 16 * 1024 * 1024;

/** A `u32be` length header. */
export function u32be(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n);
  return out;
}

/** A v1 frame: `u32be len(body)` + body. */
export function frameV1(body: Uint8Array): Uint8Array {
  return concat([u32be(body.length), body]);
}

/** A v2 frame: `u32be (1 + len(payload))` + type byte + payload. */
export function frameV2(type: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + payload.length);
  new DataView(out.buffer).setUint32(0, payload.length + 1);
  out[4] = type;
  out.set(payload, 5);
  return out;
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function hexToBytes(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || /[^0-9a-f]/i.test(hex)) throw new Error(`Bad hex: ${hex}`);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function bytesToHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** One frame read back; `type` is `undefined` for v1. */
export interface Frame {
  type?: number;
  payload: Uint8Array;
}

/** A frame the proxy's reader would refuse (it stops reading that connection). */
export class FramingError extends Error {
  override name = "FramingError";
}

/**
 * Splits a byte stream into frames. Validates N as the proxy's reader does: v2 N = 0 or
 * N > 16 MiB is an error; v1 N > 10 MiB is an error (v1 N = 0 gives an empty body).
 */
export class FrameDecoder {
  #buf: Uint8Array = new Uint8Array(0);
  readonly #v2: boolean;

  constructor(version: 1 | 2) {
    this.#v2 = version === 2;
  }

  /** Bytes received but not yet part of a whole frame. */
  get pending(): number {
    return this.#buf.length;
  }

  push(chunk: Uint8Array): Frame[] {
    this.#buf = this.#buf.length ? concat([this.#buf, chunk]) : chunk.slice();
    const frames: Frame[] = [];
    let at = 0;
    while (this.#buf.length - at >= 4) {
      const n = new DataView(this.#buf.buffer, this.#buf.byteOffset + at, 4).getUint32(0);
      if (this.#v2 && (n === 0 || n > V2_MAX)) throw new FramingError(`Bad v2 frame length ${n}`);
      if (!this.#v2 && n > V1_MAX) throw new FramingError(`Bad v1 frame length ${n}`);
      if (this.#buf.length - at - 4 < n) break;
      const body = this.#buf.subarray(at + 4, at + 4 + n);
      frames.push(this.#v2 ? { type: body[0], payload: body.slice(1) } : { payload: body.slice() });
      at += 4 + n;
    }
    this.#buf = this.#buf.slice(at);
    return frames;
  }
}
