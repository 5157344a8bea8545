/**
 * The sink runner's books: what was pushed, sent, dropped (by reason) and is still queued, in
 * records and in events. Invariant: pushed = sent + dropped + queued, for records and events.
 * Any thread. Plain counters; never logs, never throws.
 * @module
 */

/** Why the runner gave up on records. */
export type DropReason =
  | "queue_full"
  | "retries_exhausted"
  | "fatal"
  | "shutdown_deadline"
  | "closed";

/** Every drop reason, in a stable order (for metrics export). */
export const DROP_REASONS: readonly DropReason[] = [
  "queue_full",
  "retries_exhausted",
  "fatal",
  "shutdown_deadline",
  "closed",
];

/** A snapshot of one runner's counters; plain numbers, safe to post between threads. */
export interface SinkStats {
  recordsPushed: number;
  eventsPushed: number;
  batchesSent: number;
  recordsSent: number;
  eventsSent: number;
  bytesSent: number;
  /** Write attempts that were retries of a failed attempt. */
  retries: number;
  /** Write attempts that threw (retried or not). */
  failures: number;
  droppedRecords: Record<DropReason, number>;
  droppedEvents: Record<DropReason, number>;
  /** Held by the runner: batching, waiting, in flight or waiting to retry. */
  queuedRecords: number;
  queuedEvents: number;
  /** Duration of the last write attempt. */
  lastWriteSeconds: number;
  writeSecondsSum: number;
  /** Write attempts, successful or not. */
  writeCount: number;
}

function zeroByReason(): Record<DropReason, number> {
  return { queue_full: 0, retries_exhausted: 0, fatal: 0, shutdown_deadline: 0, closed: 0 };
}

/** Mutable counters behind `SinkStats`. */
export class SinkAccounting {
  #s: SinkStats = {
    recordsPushed: 0,
    eventsPushed: 0,
    batchesSent: 0,
    recordsSent: 0,
    eventsSent: 0,
    bytesSent: 0,
    retries: 0,
    failures: 0,
    droppedRecords: zeroByReason(),
    droppedEvents: zeroByReason(),
    queuedRecords: 0,
    queuedEvents: 0,
    lastWriteSeconds: 0,
    writeSecondsSum: 0,
    writeCount: 0,
  };

  get queuedRecords(): number {
    return this.#s.queuedRecords;
  }

  /** A record entered the queue. */
  accepted(events: number): void {
    this.#s.recordsPushed++;
    this.#s.eventsPushed += events;
    this.#s.queuedRecords++;
    this.#s.queuedEvents += events;
  }

  /** A record was pushed but refused at the door. */
  refused(reason: DropReason, events: number): void {
    this.#s.recordsPushed++;
    this.#s.eventsPushed += events;
    this.#s.droppedRecords[reason]++;
    this.#s.droppedEvents[reason] += events;
  }

  /** A queued batch was delivered. */
  sent(records: number, events: number, bytes: number): void {
    this.#s.queuedRecords -= records;
    this.#s.queuedEvents -= events;
    this.#s.batchesSent++;
    this.#s.recordsSent += records;
    this.#s.eventsSent += events;
    this.#s.bytesSent += bytes;
  }

  /** A queued batch was given up. */
  dropped(reason: DropReason, records: number, events: number): void {
    this.#s.queuedRecords -= records;
    this.#s.queuedEvents -= events;
    this.#s.droppedRecords[reason] += records;
    this.#s.droppedEvents[reason] += events;
  }

  /** One write attempt finished after `seconds`. */
  attempted(seconds: number, ok: boolean): void {
    this.#s.lastWriteSeconds = seconds;
    this.#s.writeSecondsSum += seconds;
    this.#s.writeCount++;
    if (!ok) this.#s.failures++;
  }

  retried(): void {
    this.#s.retries++;
  }

  snapshot(): SinkStats {
    return {
      ...this.#s,
      droppedRecords: { ...this.#s.droppedRecords },
      droppedEvents: { ...this.#s.droppedEvents },
    };
  }
}
