/**
 * Joins request_headers, body chunks and response_headers (and request_complete, if a client
 * sends one; the real proxy never does) by correlation id into lifecycles, across connections
 * and in any arrival order. A lifecycle is emitted when its response headers arrive (after
 * `grace-ms` when response body chunks are configured), or as a flagged partial when its TTL
 * expires, when the table is full, when its id is reused, or at shutdown. Pipeline worker.
 * Bounded: at most `max-open` lifecycles; the oldest is emitted as partial to make room.
 * @module
 */

import type { LifecycleConfig } from "../config/types.ts";
import type { DecodedEvent } from "../protocol/decode.ts";
import type { PartialReason } from "../record/schema.ts";
import { base64Length, type Lifecycle, newLifecycle } from "./lifecycle.ts";

export type EmitFn = (lc: Lifecycle, partial: PartialReason | null) => void;
/** Events the assembler could not place; counted as drops by the caller. */
export type DropFn = (reason: "late" | "not_recorded", events: number) => void;

export interface AssemblerOptions extends LifecycleConfig {
  /** Whether the proxy is set to send response body chunks (enables the grace wait). */
  responseBody: boolean;
}

export class Assembler {
  readonly #opts: AssemblerOptions;
  readonly #emit: EmitFn;
  readonly #drop: DropFn;
  /** Waiting for more events; insertion order = creation order (for the TTL sweep). */
  readonly #open = new Map<string, Lifecycle>();
  /** Complete but waiting out the response-body grace; insertion order = emit order. */
  readonly #grace = new Map<string, Lifecycle>();
  #events = 0;

  constructor(opts: AssemblerOptions, emit: EmitFn, drop: DropFn) {
    this.#opts = opts;
    this.#emit = emit;
    this.#drop = drop;
  }

  /** Lifecycles held. */
  get size(): number {
    return this.#open.size + this.#grace.size;
  }

  /** Events held in lifecycles not yet emitted. */
  get events(): number {
    return this.#events;
  }

  add(ev: DecodedEvent, arrival: number, protocol: 1 | 2): void {
    switch (ev.kind) {
      case "request_headers":
        return this.#requestHeaders(ev, arrival, protocol);
      case "request_body_chunk":
        return this.#requestChunk(ev, arrival, protocol);
      case "response_headers":
        return this.#responseHeaders(ev, arrival, protocol);
      case "response_body_chunk":
        return this.#responseChunk(ev, arrival);
      case "request_complete":
        return this.#requestComplete(ev, arrival);
      default:
        this.#drop("not_recorded", 1);
    }
  }

  /** Emit what is due: grace elapsed, TTL expired. */
  tick(now: number): void {
    // Not sorted by due time (a response may arrive before its request): look at every entry.
    // Only used when response bodies are configured; at most rate × grace-ms entries.
    for (const lc of this.#grace.values()) if (lc.emitAt! <= now) this.#finish(lc, null);
    for (const lc of this.#open.values()) {
      if (now - lc.firstArrival < this.#opts.ttlMs) break;
      this.#finish(lc, lc.request ? "no_response" : "no_request");
    }
  }

  /** Emit everything held (shutdown): complete ones as complete, the rest as partial. */
  flushAll(): void {
    for (const lc of this.#grace.values()) this.#finish(lc, null);
    for (const lc of this.#open.values()) this.#finish(lc, "shutdown");
  }

  #requestHeaders(ev: DecodedEvent, arrival: number, protocol: 1 | 2): void {
    const waiting = this.#grace.get(ev.correlationId);
    if (waiting) this.#finish(waiting, null);
    let lc = this.#open.get(ev.correlationId);
    if (lc?.request) {
      // The id came back (ids are client-controlled): the earlier request never got its response.
      this.#finish(lc, "superseded");
      lc = undefined;
    }
    lc ??= this.#create(ev.correlationId, protocol, arrival);
    this.#touch(lc, arrival);
    lc.request = ev.payload;
    lc.requestArrival = arrival;
    if (lc.response) this.#completed(lc, lc.responseArrival!);
  }

  #requestChunk(ev: DecodedEvent, arrival: number, protocol: 1 | 2): void {
    const lc = this.#open.get(ev.correlationId) ??
      this.#create(ev.correlationId, protocol, arrival);
    this.#touch(lc, arrival);
    lc.requestChunks++;
    lc.requestBytes += base64Length(ev.payload.data);
    lc.requestLastChunkArrival = arrival;
  }

  #responseHeaders(ev: DecodedEvent, arrival: number, protocol: 1 | 2): void {
    let lc = this.#open.get(ev.correlationId);
    if (lc?.response) {
      this.#finish(lc, lc.request ? null : "no_request");
      lc = undefined;
    }
    lc ??= this.#create(ev.correlationId, protocol, arrival);
    this.#touch(lc, arrival);
    lc.response = ev.payload;
    lc.responseArrival = arrival;
    if (lc.request) this.#completed(lc, arrival);
  }

  #responseChunk(ev: DecodedEvent, arrival: number): void {
    const lc = this.#grace.get(ev.correlationId) ?? this.#open.get(ev.correlationId);
    if (!lc) return this.#drop("late", 1);
    this.#touch(lc, arrival);
    lc.responseChunks++;
    lc.responseBytes += base64Length(ev.payload.data);
    lc.responseLastChunkArrival = arrival;
    if (ev.payload.is_last === true && lc.emitAt !== undefined) this.#finish(lc, null);
  }

  #requestComplete(ev: DecodedEvent, arrival: number): void {
    const lc = this.#grace.get(ev.correlationId) ?? this.#open.get(ev.correlationId);
    if (!lc) return this.#drop("late", 1);
    this.#touch(lc, arrival);
    lc.complete = ev.payload;
    this.#finish(lc, lc.request ? null : "no_request");
  }

  /** Request and response headers are both in: emit now, or `grace-ms` after the response. */
  #completed(lc: Lifecycle, at: number): void {
    if (!this.#opts.responseBody || this.#opts.graceMs === 0) return this.#finish(lc, null);
    this.#open.delete(lc.cid);
    lc.emitAt = at + this.#opts.graceMs;
    this.#grace.set(lc.cid, lc);
  }

  #create(cid: string, protocol: 1 | 2, arrival: number): Lifecycle {
    if (this.size >= this.#opts.maxOpen) {
      const oldest = this.#open.values().next().value ?? this.#grace.values().next().value;
      if (oldest) this.#finish(oldest, oldest.emitAt !== undefined ? null : "table_full");
    }
    const lc = newLifecycle(cid, protocol, arrival);
    this.#open.set(cid, lc);
    return lc;
  }

  #touch(lc: Lifecycle, arrival: number): void {
    lc.events++;
    this.#events++;
    if (arrival > lc.lastArrival) lc.lastArrival = arrival;
    if (arrival < lc.firstArrival) lc.firstArrival = arrival;
  }

  #finish(lc: Lifecycle, partial: PartialReason | null): void {
    if (this.#open.get(lc.cid) === lc) this.#open.delete(lc.cid);
    if (this.#grace.get(lc.cid) === lc) this.#grace.delete(lc.cid);
    this.#events -= lc.events;
    this.#emit(lc, partial);
  }
}
