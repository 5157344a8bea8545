/**
 * The bounded hand-off from the ack path to the pipeline worker. Event bodies are copied into
 * batch buffers which are transferred (not cloned) to the worker. At most two batches are in the
 * worker's hands; the rest wait here, and when the queue holds `maxEvents` (or the byte cap) the
 * configured policy sheds: `drop-newest` refuses the incoming event, `drop-oldest` discards the
 * oldest waiting batch. Main thread. `push()` never blocks and never awaits.
 * Emits: telemetry_handoff_*, telemetry_events_dropped_total{stage="handoff"}.
 * @module
 */

import type { HandoffConfig } from "../config/types.ts";
import type { EncodingId } from "../protocol/constants.ts";
import { dropLabels, type IngressMetrics } from "../obs/catalog.ts";

/** Fields per event in a batch index: offset, length, kind (type byte − 0x10), encoding, arrival ms. */
export const INDEX_STRIDE = 5;
const MIN_BUFFER = 64 * 1024;
/** Ceiling on bytes waiting in the hand-off, whatever the event count. */
export const HANDOFF_MAX_BYTES = 256 * 1024 * 1024;
const MAX_POSTED = 2;
/** Buffers kept for reuse (each kind). */
const POOL_SIZE = 4;

/** Message to the worker: `count` events; bodies in `buf`, described by `index`. */
export interface HandoffBatch {
  type: "batch";
  buf: ArrayBuffer;
  index: Float64Array;
  count: number;
  /** Events queued in the hand-off when this batch left (back-pressure signal for sampling). */
  queued: number;
  /** The hand-off's limit (`handoff.max-events`). */
  capacity: number;
}

/** Where batches go (the worker's postMessage, or a discard in ack-only mode). */
export interface BatchTarget {
  post(batch: HandoffBatch, transfer: Transferable[]): void;
}

/** A step to run once every batch queued before it has been posted to the worker. */
interface Control {
  run: () => void;
}

interface OpenBatch {
  buf: Uint8Array;
  used: number;
  index: Float64Array;
  count: number;
}

export class Handoff {
  readonly #cfg: HandoffConfig;
  readonly #metrics: IngressMetrics;
  readonly #target: BatchTarget;
  #open: OpenBatch;
  /** Sealed batches not yet posted, and in-order control steps (see `inOrder`). */
  #waiting: (OpenBatch | Control)[] = [];
  #posted: number[] = [];
  #bufPool: Uint8Array[] = [];
  #indexPool: Float64Array[] = [];
  #queuedEvents = 0;
  #queuedBytes = 0;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(cfg: HandoffConfig, metrics: IngressMetrics, target: BatchTarget) {
    this.#cfg = cfg;
    this.#metrics = metrics;
    this.#target = target;
    this.#open = this.#newBatch(MIN_BUFFER);
    metrics.handoffCapacity.set(cfg.maxEvents);
    metrics.handoffQueue.probe(() => this.#queuedEvents);
    metrics.inFlight.local.probe(() => this.#queuedEvents, { stage: "handoff" });
    this.#timer = setInterval(() => this.flush(), cfg.flushIntervalMs);
  }

  /** Events held here or in the worker's inbox. */
  get queued(): number {
    return this.#queuedEvents;
  }

  /** Queue one event body (copied). Never blocks; sheds by policy when full. */
  push(kind: number, encoding: EncodingId, body: Uint8Array, arrivalMs: number): void {
    if (!this.#makeRoom(body.length)) {
      this.#metrics.dropped.local.inc(dropLabels("handoff", "queue_full", false));
      return;
    }
    let b = this.#open;
    if (b.used + body.length > b.buf.length) {
      this.#seal();
      b = this.#open = this.#newBatch(Math.max(MIN_BUFFER, body.length));
    }
    b.buf.set(body, b.used);
    const i = b.count * INDEX_STRIDE;
    b.index[i] = b.used;
    b.index[i + 1] = body.length;
    b.index[i + 2] = kind;
    b.index[i + 3] = encoding;
    b.index[i + 4] = arrivalMs;
    b.used += body.length;
    b.count++;
    this.#queuedEvents++;
    this.#queuedBytes += body.length;
    if (b.count >= this.#cfg.batchEvents) this.#seal();
  }

  /** Seal the open batch and post what the worker has room for. */
  flush(): void {
    if (this.#open.count > 0) this.#seal();
    this.#pump();
  }

  /**
   * The worker finished the oldest posted batch. It may hand the batch's buffers back: they are
   * kept (a few) and reused, so the steady state allocates nothing on the ack path's thread.
   */
  consumed(buf?: ArrayBuffer, index?: Float64Array): void {
    const n = this.#posted.shift();
    if (n === undefined) return;
    this.#queuedEvents -= n;
    if (buf && buf.byteLength === MIN_BUFFER && this.#bufPool.length < POOL_SIZE) {
      this.#bufPool.push(new Uint8Array(buf));
    }
    if (index && index.length === this.#indexLength && this.#indexPool.length < POOL_SIZE) {
      this.#indexPool.push(index);
    }
    this.#pump();
  }

  /** Stop the flush timer (after a final flush). */
  close(): void {
    clearInterval(this.#timer);
  }

  #makeRoom(bytes: number): boolean {
    const full = () =>
      this.#queuedEvents >= this.#cfg.maxEvents || this.#queuedBytes + bytes > HANDOFF_MAX_BYTES;
    if (!full()) return true;
    if (this.#cfg.policy === "drop-oldest") {
      // Everything droppable may still be in the open batch: close it (without posting) first.
      if (this.#waiting.length === 0 && this.#open.count > 0) this.#seal(false);
      for (let i = 0; full() && i < this.#waiting.length;) {
        const old = this.#waiting[i];
        if ("run" in old) {
          i++;
          continue;
        }
        this.#waiting.splice(i, 1);
        this.#queuedEvents -= old.count;
        this.#queuedBytes -= old.used;
        this.#metrics.dropped.local.inc(dropLabels("handoff", "queue_full", false), old.count);
      }
    }
    return !full();
  }

  /**
   * Close the open batch. One that has to wait (the worker holds two already) is trimmed to what
   * it holds, so a queue of small batches stays small; one posted at once keeps its buffers,
   * which the worker hands back for reuse.
   */
  #seal(post = true): void {
    const b = this.#open;
    if (b.count === 0) return;
    const waits = !post || this.#posted.length >= MAX_POSTED || this.#waiting.length > 0;
    if (waits && b.used * 2 < b.buf.length) b.buf = b.buf.slice(0, b.used);
    const indexLength = b.count * INDEX_STRIDE;
    if (waits && indexLength * 2 < b.index.length) b.index = b.index.slice(0, indexLength);
    this.#waiting.push(b);
    this.#open = this.#newBatch(MIN_BUFFER);
    if (post) this.#pump();
  }

  /**
   * Run `step` after every event pushed so far has been posted to the worker, so a message it
   * sends (e.g. new settings after SIGHUP) reaches the worker after those events, not before.
   */
  inOrder(step: () => void): void {
    this.#seal(false);
    this.#waiting.push({ run: step });
    this.#pump();
  }

  #pump(): void {
    while (this.#waiting.length > 0) {
      const head = this.#waiting[0];
      if ("run" in head) {
        this.#waiting.shift();
        head.run();
        continue;
      }
      if (this.#posted.length >= MAX_POSTED) return;
      const b = head;
      this.#waiting.shift();
      this.#queuedBytes -= b.used;
      // The whole buffers move to the worker (no copy); `index` says which bytes are events.
      const buf = b.buf.buffer as ArrayBuffer;
      this.#posted.push(b.count);
      this.#metrics.handoffBatches.inc();
      const load = { queued: this.#queuedEvents, capacity: this.#cfg.maxEvents };
      this.#target.post({ type: "batch", buf, index: b.index, count: b.count, ...load }, [
        buf,
        b.index.buffer as ArrayBuffer,
      ]);
    }
  }

  #newBatch(bytes: number): OpenBatch {
    const pooled = bytes <= MIN_BUFFER ? this.#bufPool.pop() : undefined;
    return {
      buf: pooled ?? new Uint8Array(bytes),
      used: 0,
      index: this.#indexPool.pop() ?? new Float64Array(this.#indexLength),
      count: 0,
    };
  }

  get #indexLength(): number {
    return this.#cfg.batchEvents * INDEX_STRIDE;
  }
}
