/**
 * A faithful proxy emulator: connects to the agent's socket, speaks v1 or v2 byte for byte as
 * Sentinel/Zentinel does, and judges every answer as the proxy would (PROTOCOL.md §3.1, §3.6, §4).
 * Every answer that the proxy would drop or that breaks §9 is recorded in `violations`.
 * Test-only helper.
 * @module
 */

import { type EventName, type Frame, FrameDecoder, frameV2, MSG } from "./frames.ts";
import {
  AnswerError,
  checkAgentResponse,
  checkHandshakeResponse,
  type HandshakeInfo,
} from "./answer_check.ts";
import {
  cancelJson,
  handshakeFrame,
  type JsonObject,
  pingJson,
  v1Frame,
  v2EventFrame,
} from "./proxy_encode.ts";

/** Default time to wait for an answer: generous, as the protocol's own timeouts are. */
export const ANSWER_TIMEOUT_MS = 2000;

/** Resolve `p` or fail after `ms` with `label`; the timer never outlives the race. */
export async function withTimeout<T>(p: Promise<T>, ms: number, label: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms: ${label}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The base of both clients: a read loop that splits frames and notices the agent closing. */
abstract class ProxyConnection {
  /** Every answer the real proxy would drop or that breaks the agent's contract. */
  readonly violations: string[] = [];
  readonly #conn: Deno.UnixConn;
  readonly #decoder: FrameDecoder;
  #loop: Promise<void>;
  #closedByAgent = false;
  #closeWaiters: (() => void)[] = [];
  #closing = false;

  constructor(conn: Deno.UnixConn, version: 1 | 2) {
    this.#conn = conn;
    this.#decoder = new FrameDecoder(version);
    this.#loop = this.#readLoop();
  }

  protected abstract onFrame(frame: Frame): void;

  async #readLoop(): Promise<void> {
    const buf = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await this.#conn.read(buf);
        if (n === null) break;
        for (const frame of this.#decoder.push(buf.subarray(0, n))) this.onFrame(frame);
      }
    } catch (e) {
      // A reset or our own close ends the connection quietly; anything else is reported.
      const quiet = this.#closing || e instanceof Deno.errors.ConnectionReset ||
        e instanceof Deno.errors.BrokenPipe;
      if (!quiet) this.violations.push(`read loop: ${e instanceof Error ? e.message : e}`);
    }
    if (!this.#closing) this.#closedByAgent = true;
    for (const w of this.#closeWaiters.splice(0)) w();
  }

  /** Write bytes as they are (whole frames, parts of frames, garbage). */
  async write(bytes: Uint8Array): Promise<void> {
    let at = 0;
    while (at < bytes.length) at += await this.#conn.write(bytes.subarray(at));
  }

  /** Whether the agent has closed (or reset) this connection. */
  get closedByAgent(): boolean {
    return this.#closedByAgent;
  }

  /** Resolves `true` once the agent closes the connection, `false` if it is still open after `ms`. */
  async waitClosed(ms = ANSWER_TIMEOUT_MS): Promise<boolean> {
    if (this.#closedByAgent) return true;
    const closed = new Promise<void>((resolve) => this.#closeWaiters.push(resolve));
    try {
      await withTimeout(closed, ms, "agent closing the connection");
      return true;
    } catch {
      return false;
    }
  }

  /** Close the connection and wait for the read loop to end. Safe to call twice. */
  async close(): Promise<void> {
    if (!this.#closing) {
      this.#closing = true;
      try {
        this.#conn.close();
      } catch {
        // already released after the agent's reset
      }
    }
    await this.#loop;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** A v2 connection after a successful handshake. */
export class V2Client extends ProxyConnection {
  encoding: "json" | "msgpack" = "json";
  handshake?: HandshakeInfo;
  readonly #offered: readonly string[];
  #seenHandshake = false;
  #handshakeWaiter?: (info: HandshakeInfo | Error) => void;
  readonly #outstanding = new Map<string, number>();
  readonly #arrived = new Map<string, number>();
  readonly #waiters = new Map<string, (() => void)[]>();
  readonly #pongs: Uint8Array[] = [];
  #pongWaiters: (() => void)[] = [];
  /** Answers received, in arrival order (routing keys). */
  readonly answered: string[] = [];

  constructor(conn: Deno.UnixConn, offered: readonly string[]) {
    super(conn, 2);
    this.#offered = offered;
  }

  /** Send the HandshakeRequest and validate the agent's HandshakeResponse. */
  async start(ms = ANSWER_TIMEOUT_MS): Promise<HandshakeInfo> {
    const got = new Promise<HandshakeInfo | Error>((r) => (this.#handshakeWaiter = r));
    await this.write(handshakeFrame(this.#offered));
    const info = await withTimeout(got, ms, "handshake response");
    if (info instanceof Error) throw info;
    this.handshake = info;
    this.encoding = info.encoding;
    return info;
  }

  protected onFrame(frame: Frame): void {
    if (!this.#seenHandshake) return this.#onHandshake(frame);
    if (frame.type === MSG.PONG) {
      this.#pongs.push(frame.payload);
      for (const w of this.#pongWaiters.splice(0)) w();
    } else if (frame.type === MSG.AGENT_RESPONSE) this.#onAnswer(frame.payload);
    else this.violations.push(`unexpected type byte 0x${frame.type!.toString(16)} after handshake`);
  }

  #onHandshake(frame: Frame): void {
    this.#seenHandshake = true;
    let result: HandshakeInfo | Error;
    if (frame.type !== MSG.HANDSHAKE_RESPONSE) {
      result = new Error(`first frame has type 0x${frame.type!.toString(16)}, want 0x02`);
    } else {
      try {
        result = checkHandshakeResponse(frame.payload, this.#offered);
      } catch (e) {
        result = e as Error;
      }
    }
    if (result instanceof Error) this.violations.push(`handshake: ${result.message}`);
    this.#handshakeWaiter?.(result);
  }

  #onAnswer(payload: Uint8Array): void {
    let cid: string;
    try {
      cid = checkAgentResponse(payload, this.encoding, 2).cid;
    } catch (e) {
      if (!(e instanceof AnswerError)) throw e;
      this.violations.push(`answer: ${e.message}: ${new TextDecoder().decode(payload)}`);
      return;
    }
    const pending = this.#outstanding.get(cid) ?? 0;
    if (pending === 0) {
      this.violations.push(`answer for unknown or already answered id ${JSON.stringify(cid)}`);
      return;
    }
    this.#outstanding.set(cid, pending - 1);
    this.#arrived.set(cid, (this.#arrived.get(cid) ?? 0) + 1);
    this.answered.push(cid);
    for (const w of this.#waiters.get(cid)?.splice(0) ?? []) w();
  }

  /** Note that one answer for `cid` is due (done by `send*`; call it for raw frames). */
  expect(cid: string): void {
    this.#outstanding.set(cid, (this.#outstanding.get(cid) ?? 0) + 1);
  }

  /** The whole frame of an event as the proxy encodes it; the routing key is expected. */
  eventFrame(kind: EventName, event: JsonObject, cid = idOf(kind, event)): Uint8Array {
    this.expect(cid);
    return v2EventFrame(kind, event, cid, this.encoding);
  }

  /** Send one event; returns its correlation id. */
  async send(kind: EventName, event: JsonObject, cid = idOf(kind, event)): Promise<string> {
    await this.write(this.eventFrame(kind, event, cid));
    return cid;
  }

  /** Wait for (and consume) one answer routed to `cid`. */
  async answer(cid: string, ms = ANSWER_TIMEOUT_MS): Promise<void> {
    const take = () => {
      const n = this.#arrived.get(cid) ?? 0;
      if (n > 0) this.#arrived.set(cid, n - 1);
      return n > 0;
    };
    if (take()) return;
    const arrived = new Promise<void>((resolve) => {
      const list = this.#waiters.get(cid) ?? [];
      list.push(resolve);
      this.#waiters.set(cid, list);
    });
    await withTimeout(arrived, ms, `answer for ${JSON.stringify(cid)}${this.#why()}`);
    take();
  }

  #why(): string {
    const v = this.violations.length
      ? `; violations: ${this.violations.slice(0, 3).join(" | ")}`
      : "";
    return this.closedByAgent ? ` (connection closed by the agent${v})` : v;
  }

  /** Answers still due. */
  get outstanding(): number {
    let n = 0;
    for (const v of this.#outstanding.values()) n += v;
    return n;
  }

  async ping(sequence: number, timestampMs = Date.now()): Promise<Uint8Array> {
    const payload = pingJson(sequence, timestampMs);
    await this.write(frameV2(MSG.PING, payload));
    return payload;
  }

  /** The next Pong payload. */
  async pong(ms = ANSWER_TIMEOUT_MS): Promise<Uint8Array> {
    if (!this.#pongs.length) {
      await withTimeout(new Promise<void>((r) => this.#pongWaiters.push(r)), ms, "pong");
    }
    return this.#pongs.shift()!;
  }

  async cancel(cid: string, reason = 0, timestampMs = Date.now()): Promise<void> {
    await this.write(frameV2(MSG.CANCEL, cancelJson(cid, reason, timestampMs)));
  }
}

/** A v1 connection: one answer per frame, in order, `version` 1. */
export class V1Client extends ProxyConnection {
  #answers = 0;
  #taken = 0;
  #waiters: (() => void)[] = [];

  protected onFrame(frame: Frame): void {
    try {
      checkAgentResponse(frame.payload, "json", 1);
    } catch (e) {
      if (!(e instanceof AnswerError)) throw e;
      this.violations.push(`answer: ${e.message}: ${new TextDecoder().decode(frame.payload)}`);
    }
    this.#answers++;
    for (const w of this.#waiters.splice(0)) w();
  }

  async send(eventType: string, payload: JsonObject): Promise<void> {
    await this.write(v1Frame(eventType, payload));
  }

  /** Wait for the next answer (valid or not: validity goes to `violations`). */
  async next(ms = ANSWER_TIMEOUT_MS): Promise<void> {
    while (this.#answers <= this.#taken) {
      const more = new Promise<void>((r) => this.#waiters.push(r));
      const why = this.closedByAgent ? " (connection closed by the agent)" : "";
      await withTimeout(more, ms, `v1 answer #${this.#taken + 1}${why}`);
    }
    this.#taken++;
  }

  /** Answers received so far. */
  get received(): number {
    return this.#answers;
  }
}

/** The routing key the proxy expects back for an event. */
export function idOf(kind: EventName, event: JsonObject): string {
  if (kind === "request_headers") return (event.metadata as JsonObject).correlation_id as string;
  const cid = event.correlation_id;
  if (typeof cid !== "string") throw new Error(`${kind} needs an explicit correlation id`);
  return cid;
}

async function dial(path: string): Promise<Deno.UnixConn> {
  return await Deno.connect({ transport: "unix", path });
}

/** Open a v1 connection (nothing is sent until the first event). */
export async function connectV1(path: string): Promise<V1Client> {
  return new V1Client(await dial(path), 1);
}

/** Open a v2 connection and complete the handshake offering `encodings`. */
export async function connectV2(
  path: string,
  opts: { encodings?: readonly string[]; handshake?: boolean } = {},
): Promise<V2Client> {
  const client = new V2Client(await dial(path), opts.encodings ?? ["json"]);
  if (opts.handshake === false) return client;
  try {
    await client.start();
  } catch (e) {
    await client.close();
    throw e;
  }
  return client;
}
