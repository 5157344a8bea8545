/**
 * The sink runner's books: what was pushed, filtered out, sent, dropped (by reason), is still
 * queued in memory or held in the spool, in records and in events; write attempts, their
 * durations (histogram) and failures by error code. Invariant, for records and events:
 * pushed + recovered (found in the spool at start-up) = filtered + sent + dropped + queued + spooled.
 * Any thread. Plain counters; never logs, never throws.
 * @module
 */

import type { SpoolStats } from "../spool/spool.ts";

/** Why the runner gave up on records. */
export type DropReason =
  | "queue_full"
  | "retries_exhausted"
  | "fatal"
  | "shutdown_deadline"
  | "closed"
  | "spool_full"
  | "spool_io"
  | "spool_corrupt";

/** Every drop reason, in a stable order (for metrics export). */
export const DROP_REASONS: readonly DropReason[] = [
  "queue_full",
  "retries_exhausted",
  "fatal",
  "shutdown_deadline",
  "closed",
  "spool_full",
  "spool_io",
  "spool_corrupt",
];

/** Upper bounds (seconds) of the write-duration histogram buckets; `+Inf` is implied. */
export const WRITE_SECONDS_BUCKETS: readonly number[] = [
  0.001,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
];

/** A snapshot of one runner's counters; plain numbers, safe to post between threads. */
export interface SinkCounters {
  recordsPushed: number;
  eventsPushed: number;
  /** Pushed records the sink's filter did not want (intentional, not a drop). */
  recordsFiltered: number;
  eventsFiltered: number;
  batchesSent: number;
  recordsSent: number;
  eventsSent: number;
  bytesSent: number;
  /** Write attempts that were retries of a failed attempt. */
  retries: number;
  /** Write attempts that threw (retried or not). */
  failures: number;
  /** Failed write attempts by error code (`SinkError.code`, or `unexpected`). */
  failuresByCode: Record<string, number>;
  droppedRecords: Record<DropReason, number>;
  droppedEvents: Record<DropReason, number>;
  /** Held by the runner in memory: batching, waiting, in flight or waiting to retry. */
  queuedRecords: number;
  queuedEvents: number;
  /** Held in the spool (on disk, being replayed included). */
  spooledRecords: number;
  spooledEvents: number;
  /** Found in the spool at start-up (spooled by an earlier run). */
  recordsRecovered: number;
  eventsRecovered: number;
  /** Records written to the spool (a counter; each spooled batch once). */
  recordsSpooledTotal: number;
  eventsSpooledTotal: number;
  /** Duration of the last write attempt. */
  lastWriteSeconds: number;
  writeSecondsSum: number;
  /** Write attempts, successful or not. */
  writeCount: number;
  /** Write attempts per bucket of `WRITE_SECONDS_BUCKETS` (not cumulative; +Inf last). */
  writeSecondsBuckets: number[];
}

/** The runner's live state next to its counters. */
export interface RunnerGauges {
  /** Circuit breaker: 0 closed, 1 open, 2 half-open. */
  breakerState: number;
  /** Times the breaker opened. */
  breakerOpens: number;
  /** Batches taken by writers (writing, waiting to retry, or waiting for the breaker). */
  inFlightBatches: number;
  /** `maxQueueRecords`: records the runner may hold. */
  queueCapacityRecords: number;
  /** The spool's state, or null when the sink has none. */
  spool: SpoolStats | null;
}

/** Everything `SinkRunner.stats()` returns. */
export type SinkStats = SinkCounters & RunnerGauges;

function zeroByReason(): Record<DropReason, number> {
  return {
    queue_full: 0,
    retries_exhausted: 0,
    fatal: 0,
    shutdown_deadline: 0,
    closed: 0,
    spool_full: 0,
    spool_io: 0,
    spool_corrupt: 0,
  };
}

/** Mutable counters behind `SinkStats`. */
export class SinkAccounting {
  #s: SinkCounters = {
    recordsPushed: 0,
    eventsPushed: 0,
    recordsFiltered: 0,
    eventsFiltered: 0,
    batchesSent: 0,
    recordsSent: 0,
    eventsSent: 0,
    bytesSent: 0,
    retries: 0,
    failures: 0,
    failuresByCode: {},
    droppedRecords: zeroByReason(),
    droppedEvents: zeroByReason(),
    queuedRecords: 0,
    queuedEvents: 0,
    spooledRecords: 0,
    spooledEvents: 0,
    recordsRecovered: 0,
    eventsRecovered: 0,
    recordsSpooledTotal: 0,
    eventsSpooledTotal: 0,
    lastWriteSeconds: 0,
    writeSecondsSum: 0,
    writeCount: 0,
    writeSecondsBuckets: new Array(WRITE_SECONDS_BUCKETS.length + 1).fill(0),
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

  /** A record was pushed but the sink's filter did not want it. */
  filtered(events: number): void {
    this.#s.recordsPushed++;
    this.#s.eventsPushed += events;
    this.#s.recordsFiltered++;
    this.#s.eventsFiltered += events;
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

  /** Records found in the spool at start-up. */
  recovered(records: number, events: number): void {
    this.#s.recordsRecovered += records;
    this.#s.eventsRecovered += events;
    this.#s.spooledRecords += records;
    this.#s.spooledEvents += events;
  }

  /** A queued batch is now on disk in the spool. */
  spooled(records: number, events: number): void {
    this.#s.queuedRecords -= records;
    this.#s.queuedEvents -= events;
    this.#s.spooledRecords += records;
    this.#s.spooledEvents += events;
    this.#s.recordsSpooledTotal += records;
    this.#s.eventsSpooledTotal += events;
  }

  /** A spooled batch was delivered by replay. */
  replayed(records: number, events: number, bytes: number): void {
    this.#s.spooledRecords -= records;
    this.#s.spooledEvents -= events;
    this.#s.queuedRecords += records;
    this.#s.queuedEvents += events;
    this.sent(records, events, bytes);
  }

  /** Spooled records were given up (evicted by the full-policy, unreadable, or fatal). */
  spoolDropped(reason: DropReason, records: number, events: number): void {
    this.#s.spooledRecords -= records;
    this.#s.spooledEvents -= events;
    this.#s.droppedRecords[reason] += records;
    this.#s.droppedEvents[reason] += events;
  }

  /** One write attempt finished after `seconds`; `failedCode` is set when it threw. */
  attempted(seconds: number, failedCode?: string): void {
    this.#s.lastWriteSeconds = seconds;
    this.#s.writeSecondsSum += seconds;
    this.#s.writeCount++;
    let i = WRITE_SECONDS_BUCKETS.findIndex((le) => seconds <= le);
    if (i < 0) i = WRITE_SECONDS_BUCKETS.length;
    this.#s.writeSecondsBuckets[i]++;
    if (failedCode === undefined) return;
    this.#s.failures++;
    this.#s.failuresByCode[failedCode] = (this.#s.failuresByCode[failedCode] ?? 0) + 1;
  }

  retried(): void {
    this.#s.retries++;
  }

  snapshot(): SinkCounters {
    return {
      ...this.#s,
      droppedRecords: { ...this.#s.droppedRecords },
      droppedEvents: { ...this.#s.droppedEvents },
      failuresByCode: { ...this.#s.failuresByCode },
      writeSecondsBuckets: [...this.#s.writeSecondsBuckets],
    };
  }
}
