/**
 * One proxy connection: detects v1 or v2 from byte 4 of the first frame, answers every event at
 * once from a template, and hands the raw event to the pipeline. All answers produced by one read
 * go out in one write. Main thread (ack path): the only await is the socket read and write.
 * A connection that breaks the protocol is closed; nothing else is affected.
 * Emits: telemetry_ingress_*, telemetry_ack_duration_seconds.
 * @module
 */

import {
  V1_ALLOW,
  v2JsonAckSize,
  v2MsgpackAckSize,
  writeV2JsonAck,
  writeV2MsgpackAck,
} from "../protocol/acks.ts";
import {
  Encoding,
  EVENT_KINDS,
  MsgType,
  V1_EVENT_TYPES,
  V1_MAX_FRAME,
  V2_MAX_FRAME,
} from "../protocol/constants.ts";
import { FrameReader, readU32 } from "../protocol/frame_reader.ts";
import {
  type AgentIdentity,
  chooseEncoding,
  handshakeResponse,
  parseHandshake,
  type WireEncoding,
} from "../protocol/handshake.ts";
import { KeySet, scanJsonObject } from "../protocol/json_scan.ts";
import { scanMsgpackCid } from "../protocol/msgpack_scan.ts";
import type { IngressMetrics } from "../obs/catalog.ts";
import type { Handoff } from "./handoff.ts";

const READ_SIZE = 64 * 1024;
const CID_KEYS = new KeySet(["correlation_id"]);
const V1_KEYS = new KeySet(["event_type"]);
const td = new TextDecoder();
const EVENT_NAMES: readonly string[] = EVENT_KINDS;

/** What every connection shares. */
export interface IngressContext {
  metrics: IngressMetrics;
  handoff: Handoff;
  /** Incomplete-frame bytes held by all connections, and the most allowed. */
  buffers: { held: number; max: number };
  /** `received` counters per event kind, made once (see `receivedByKind`). */
  receivedByKind: { inc(by?: number): void }[];
  identity: AgentIdentity;
  log: (level: "debug" | "info" | "warn" | "error", msg: string, fields?: object) => void;
}

type Mode = "detect" | "v1" | "v2-handshake" | "v2";

export class Connection {
  readonly #conn: Deno.Conn;
  readonly #ctx: IngressContext;
  #mode: Mode = "detect";
  #head = new Uint8Array(0);
  #reader: FrameReader | null = null;
  #encoding: WireEncoding = "json";
  #out = new Uint8Array(16 * 1024);
  #outLen = 0;
  #answers = 0;
  #closeReason: string | null = null;
  #closed = false;
  /** When an incomplete frame started waiting for its rest (0 = none). */
  #partialSince = 0;
  /** When the pending write started (0 = none). */
  #writeSince = 0;
  /** Incomplete-frame bytes this connection holds, as last reported to the shared budget. */
  #buffered = 0;

  constructor(conn: Deno.Conn, ctx: IngressContext) {
    this.#conn = conn;
    this.#ctx = ctx;
  }

  /** Serve until EOF, a protocol error or `close()`. Never throws. */
  async serve(): Promise<void> {
    const buf = new Uint8Array(READ_SIZE);
    try {
      while (this.#closeReason === null) {
        const n = await this.#conn.read(buf);
        if (n === null) {
          this.#closeReason = "eof";
          break;
        }
        const started = performance.now();
        this.#consume(buf.subarray(0, n));
        this.#account(started);
        if (this.#outLen > 0) {
          this.#writeSince = started;
          await this.#flush(started);
          this.#writeSince = 0;
          if (this.#partialSince > 0) this.#partialSince = performance.now();
        }
      }
    } catch (e) {
      if (this.#closeReason === null) this.#closeReason = errorReason(e);
    } finally {
      this.#finish();
    }
  }

  /**
   * Close the connection if a frame has waited for its rest longer than `frameTimeoutMs` (a
   * header then silence) or its answers have not been taken for `writeTimeoutMs` (a client that
   * never reads). Called by the server's periodic sweep.
   */
  sweep(now: number, frameTimeoutMs: number, writeTimeoutMs: number): void {
    // While the agent waits on its own write it is not reading: the frame clock is paused.
    if (this.#writeSince > 0) {
      if (now - this.#writeSince <= writeTimeoutMs) return;
      this.#fail("write_timeout");
      this.#finish();
    } else if (this.#partialSince > 0 && now - this.#partialSince > frameTimeoutMs) {
      this.#fail("frame_timeout", { buffered: this.#buffered });
      this.#finish();
    }
  }

  /** Track incomplete-frame bytes: the stall clock and the budget shared by all connections. */
  #account(now: number): void {
    const held = this.#head.length + (this.#reader?.buffered ?? 0);
    if (held === 0) this.#partialSince = 0;
    else if (this.#partialSince === 0) this.#partialSince = now;
    const budget = this.#ctx.buffers;
    budget.held += held - this.#buffered;
    this.#buffered = held;
    if (budget.held > budget.max) this.#fail("buffer_budget", { buffered: held });
  }

  /** Close from outside (shutdown). */
  close(reason = "shutdown"): void {
    if (this.#closeReason === null) this.#closeReason = reason;
    this.#finish();
  }

  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch (e) {
      if (!(e instanceof Deno.errors.BadResource)) throw e;
    }
    this.#ctx.metrics.closed.inc({ reason: this.#closeReason ?? "unknown" });
    this.#ctx.buffers.held -= this.#buffered;
    this.#buffered = 0;
  }

  #fail(reason: string, detail?: object): void {
    if (this.#closeReason !== null) return;
    this.#closeReason = reason;
    this.#ctx.metrics.rejected.inc({ reason });
    this.#ctx.log("warn", "closing proxy connection", { reason, mode: this.#mode, ...detail });
  }

  #consume(data: Uint8Array): void {
    if (this.#mode === "detect") {
      data = this.#detect(data);
      if (this.#mode === "detect" || data.length === 0) return;
    }
    const err = this.#reader!.feed(data, this.#onFrame);
    if (err) this.#fail(err.code, { length: err.length });
  }

  /** Collect the first 5 bytes, choose the version, return the bytes to frame. */
  #detect(data: Uint8Array): Uint8Array {
    const head = new Uint8Array(this.#head.length + data.length);
    head.set(this.#head);
    head.set(data, this.#head.length);
    if (head.length >= 4) {
      const n = readU32(head, 0);
      if (n === 0) return this.#failDetect("zero_length");
      if (n > V2_MAX_FRAME) return this.#failDetect("oversize");
    }
    if (head.length < 5) {
      this.#head = head;
      return new Uint8Array(0);
    }
    this.#head = new Uint8Array(0);
    if (head[4] === 0x7b) {
      this.#mode = "v1";
      this.#reader = new FrameReader(V1_MAX_FRAME);
    } else if (head[4] === MsgType.HandshakeRequest) {
      this.#mode = "v2-handshake";
      this.#reader = new FrameReader(V2_MAX_FRAME);
    } else {
      return this.#failDetect("unknown_protocol");
    }
    this.#ctx.metrics.connections.inc({ protocol: this.#mode === "v1" ? "v1" : "v2" });
    return head;
  }

  #failDetect(reason: string): Uint8Array {
    this.#fail(reason);
    return new Uint8Array(0);
  }

  readonly #onFrame = (body: Uint8Array): void => {
    if (this.#closeReason !== null) return;
    if (this.#mode === "v1") this.#onV1(body);
    else if (this.#mode === "v2") this.#onV2(body);
    else this.#onHandshake(body);
  };

  #onV1(body: Uint8Array): void {
    const found = scanJsonObject(body, 0, body.length, V1_KEYS);
    if (!found) return this.#fail("malformed_json");
    const t = found.get("event_type");
    const kind = t ? V1_EVENT_TYPES[td.decode(body.subarray(t.start, t.end))] : undefined;
    this.#append(V1_ALLOW);
    if (kind === undefined) {
      this.#ctx.metrics.rejected.inc({ reason: "unknown_event_type" });
      return;
    }
    this.#accept(EVENT_NAMES.indexOf(kind), Encoding.V1Json, body);
  }

  #onHandshake(body: Uint8Array): void {
    if (body[0] !== MsgType.HandshakeRequest) return this.#fail("no_handshake");
    const req = parseHandshake(body.subarray(1));
    if (!req) return this.#fail("malformed_handshake");
    this.#encoding = chooseEncoding(req.encodings);
    this.#append(handshakeResponse(this.#ctx.identity, req, this.#encoding));
    this.#ctx.metrics.control.inc({ type: "handshake" });
    this.#mode = "v2";
    this.#ctx.log("info", "proxy connected", {
      protocol: 2,
      proxy_id: req.proxyId,
      proxy_version: req.proxyVersion,
      encoding: this.#encoding,
    });
  }

  #onV2(body: Uint8Array): void {
    const type = body[0];
    if (type >= MsgType.RequestHeaders && type <= MsgType.Configure) return this.#onV2Event(body);
    if (type === MsgType.Ping) {
      this.#ctx.metrics.control.inc({ type: "ping" });
      this.#appendFrame(MsgType.Pong, body.subarray(1));
    } else if (type === MsgType.Cancel) {
      this.#ctx.metrics.control.inc({ type: "cancel" });
    } else {
      // A type the agent does not take: skipped like the proxy skips unexpected types (§3.2).
      this.#ctx.metrics.rejected.inc({ reason: "unexpected_type" });
    }
  }

  #onV2Event(body: Uint8Array): void {
    let start: number, end: number;
    if (this.#encoding === "json") {
      const found = scanJsonObject(body, 1, body.length, CID_KEYS);
      if (!found) return this.#fail("malformed_json");
      const cid = found.get("correlation_id");
      start = cid ? cid.start : 0;
      end = cid ? cid.end : 0;
      this.#ensure(v2JsonAckSize(end - start));
      this.#outLen = writeV2JsonAck(this.#out, this.#outLen, body, start, end);
      this.#answers++;
    } else {
      const cid = scanMsgpackCid(body, 1);
      if (cid === null) return this.#fail("malformed_msgpack");
      start = cid ? cid.start : 0;
      end = cid ? cid.end : 0;
      this.#ensure(v2MsgpackAckSize(end - start));
      this.#outLen = writeV2MsgpackAck(this.#out, this.#outLen, body, start, end);
      this.#answers++;
    }
    if (start === end) this.#ctx.metrics.rejected.inc({ reason: "no_correlation_id" });
    const kind = body[0] - MsgType.RequestHeaders;
    const enc = this.#encoding === "json" ? Encoding.Json : Encoding.MsgPack;
    this.#accept(kind, enc, body.subarray(1));
  }

  #accept(
    kind: number,
    encoding: typeof Encoding[keyof typeof Encoding],
    payload: Uint8Array,
  ): void {
    this.#ctx.receivedByKind[kind].inc();
    this.#ctx.handoff.push(kind, encoding, payload, performance.timeOrigin + performance.now());
  }

  #append(bytes: Uint8Array): void {
    this.#ensure(bytes.length);
    this.#out.set(bytes, this.#outLen);
    this.#outLen += bytes.length;
    this.#answers++;
  }

  #appendFrame(type: number, payload: Uint8Array): void {
    this.#ensure(payload.length + 5);
    const n = payload.length + 1;
    const o = this.#out;
    let i = this.#outLen;
    o[i++] = n >>> 24;
    o[i++] = (n >>> 16) & 0xff;
    o[i++] = (n >>> 8) & 0xff;
    o[i++] = n & 0xff;
    o[i++] = type;
    o.set(payload, i);
    this.#outLen = i + payload.length;
    this.#answers++;
  }

  #ensure(extra: number): void {
    if (this.#outLen + extra <= this.#out.length) return;
    const next = new Uint8Array(Math.max(this.#out.length * 2, this.#outLen + extra));
    next.set(this.#out.subarray(0, this.#outLen));
    this.#out = next;
  }

  async #flush(started: number): Promise<void> {
    let off = 0;
    const len = this.#outLen;
    while (off < len) off += await this.#conn.write(this.#out.subarray(off, len));
    this.#outLen = 0;
    const answers = this.#answers;
    this.#answers = 0;
    this.#ctx.metrics.acks.inc(undefined, answers);
    this.#ctx.metrics.ackDuration.observe((performance.now() - started) / 1000, answers);
    if (this.#out.length > 1024 * 1024) this.#out = new Uint8Array(16 * 1024);
  }
}

function errorReason(e: unknown): string {
  if (e instanceof Deno.errors.ConnectionReset || e instanceof Deno.errors.BrokenPipe) {
    return "reset";
  }
  if (e instanceof Deno.errors.BadResource || e instanceof Deno.errors.Interrupted) return "closed";
  return "error";
}
