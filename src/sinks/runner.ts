/**
 * Drives one sink: an optional record filter, batching by size and interval, bounded queue,
 * bounded in-flight batches, retry with exponential backoff and full jitter, a circuit breaker
 * (while open, batches wait in the bounded queue instead of hammering the sink), drop accounting
 * by reason, rate-limited logs, and a deadline-bound drain at shutdown.
 * With a spool (`_spooling.ts`), batches it cannot deliver — breaker open, retries exhausted,
 * ready batches past half the queue, the shutdown deadline — go to disk instead of being
 * dropped; while the spool holds anything, new batches follow them there, and replay delivers
 * them in order (also after a restart).
 * Runs in the pipeline worker. `push()` never blocks, awaits or throws; a full queue drops the
 * newest record with a count. Never retries a fatal error, never sleeps past a drain deadline.
 * Emits (via `stats()`): the numbers behind telemetry_sink_* and telemetry_spool_* metrics.
 * @module
 */

import type { SinkConfig } from "../config/types.ts";
import { log as defaultLog } from "../obs/log.ts";
import type { TelemetryRecord } from "../record/schema.ts";
import { backoffDelayMs } from "./backoff.ts";
import { type Sink, type SinkBatch, SinkError } from "./contract.ts";
import { type DropReason, SinkAccounting, type SinkStats } from "./_accounting.ts";
import { newBatchId } from "./_batch_id.ts";
import { BREAKER_STATE_VALUE, type BreakerEvent, CircuitBreaker } from "./_breaker.ts";
import { runnerSettings } from "./_runner_config.ts";
import { RateLimitedLog } from "./_rate_log.ts";
import {
  type ResolvedRunnerOptions,
  resolveRunnerOptions,
  type SinkRunnerOptions,
} from "./_runner_options.ts";
import { sleep, withTimeout } from "./_timers.ts";
import { SpoolLink } from "./_spooling.ts";
import type { SpoolSettings } from "../spool/options.ts";

export { DROP_REASONS, WRITE_SECONDS_BUCKETS } from "./_accounting.ts";
export type { DropReason, SinkStats } from "./_accounting.ts";
export type { BreakerOptions, BreakerState } from "./_breaker.ts";
export { RUNNER_KEYS, sinkOwnOptions } from "./_runner_config.ts";
export { SinkRunnerOptionsError } from "./_runner_options.ts";
export type { SinkRunnerOptions } from "./_runner_options.ts";
export type { SpoolStats } from "../spool/spool.ts";

/**
 * Result of `drain()`: `complete` is false when records were dropped at the deadline or
 * `sink.close()` failed or did not finish in time.
 */
export interface DrainResult {
  complete: boolean;
}

interface Job {
  batch: SinkBatch;
  events: number;
  /** Write attempts so far. */
  attempts: number;
  /** Retries spent from the backoff budget (only while the breaker is closed). */
  retries: number;
  /** The wait the backend asked for with its last retryable error (`SinkError.retryAfterMs`). */
  retryAfterMs: number;
  settled: boolean;
}

/**
 * Wraps one `Sink` with batching, retry and accounting.
 *
 * @example
 * ```ts
 * const runner = new SinkRunner(createSink(cfg, deps), { batchSize: 500, flushIntervalMs: 1000 });
 * await runner.open();
 * runner.push(record); // never blocks
 * const { complete } = await runner.drain(5000);
 * ```
 */
export class SinkRunner {
  readonly name: string;
  #sink: Sink;
  #o: ResolvedRunnerOptions;
  #log: RateLimitedLog;
  #acct = new SinkAccounting();
  #pending: TelemetryRecord[] = [];
  #pendingEvents = 0;
  #ready: Job[] = [];
  #inFlight = new Set<Job>();
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  #pumpScheduled = false;
  #opened = false;
  #state: "running" | "draining" | "closed" = "running";
  #drain: Promise<DrainResult> | undefined;
  #deadlineDrops = 0;
  #deadline = Infinity;
  #abort = new AbortController();
  #idleWaiters: (() => void)[] = [];
  #breaker: CircuitBreaker;
  #spool: SpoolLink | undefined;

  constructor(sink: Sink, options: SinkRunnerOptions) {
    this.#o = resolveRunnerOptions(options);
    this.name = sink.name;
    this.#sink = sink;
    this.#log = new RateLimitedLog(this.#o.log ?? defaultLog, sink.name, this.#o.logIntervalMs);
    this.#breaker = new CircuitBreaker(this.#o.breaker, this.#onBreakerEvent);
  }

  /**
   * Open the spool (recovering what an earlier run left) and the sink; writes start once it
   * resolves (records pushed before wait in the queue).
   */
  async open(): Promise<void> {
    if (this.#o.spool !== undefined) this.#spool = await this.#openSpool();
    try {
      await this.#sink.open();
    } catch (e) {
      this.#spool?.stopReplay();
      await this.#spool?.close();
      throw e;
    }
    this.#opened = true;
    if (this.#o.filter !== undefined) {
      this.#log.report("filter", "info", "sink receives only matching records", {
        filter: this.#o.filter.text,
      });
    }
    this.#pump();
  }

  /** Queue one record. Synchronous; never throws; drops (counted) when full or closed. */
  push(record: TelemetryRecord): void {
    const events = eventsOf(record);
    if (this.#state === "running" && this.#o.filter?.test(record) === false) {
      this.#acct.filtered(events);
      return;
    }
    if (this.#state !== "running" || this.#acct.queuedRecords >= this.#o.maxQueueRecords) {
      const reason: DropReason = this.#state === "running" ? "queue_full" : "closed";
      this.#acct.refused(reason, events);
      this.#log.report(reason, "warn", "sink dropped a record", { queue: this.#o.maxQueueRecords });
      return;
    }
    this.#acct.accepted(events);
    this.#pending.push(record);
    this.#pendingEvents += events;
    if (this.#pending.length >= this.#o.batchSize) {
      this.#cut();
      this.#schedulePump();
    } else if (this.#flushTimer === undefined) {
      this.#flushTimer = setTimeout(this.#onFlushTimer, this.#o.flushIntervalMs);
    }
  }

  /** Cut what is batched now into a batch and start writing it (subject to `maxInFlight`). */
  flush(): void {
    if (this.#state === "closed") return;
    this.#cut();
    this.#pump();
  }

  /**
   * Write everything queued, wait for in-flight writes for at most `deadlineMs` from now (no
   * retry sleep ends past it), then close the sink. Records still undelivered at the deadline
   * are dropped with reason `shutdown_deadline`. Later pushes are dropped with reason `closed`.
   */
  drain(deadlineMs: number): Promise<DrainResult> {
    this.#drain ??= this.#drainOnce(deadlineMs);
    return this.#drain;
  }

  /** The counters and gauges now (plain numbers). */
  stats(): SinkStats {
    return {
      ...this.#acct.snapshot(),
      breakerState: BREAKER_STATE_VALUE[this.#breaker.state],
      breakerOpens: this.#breaker.opens,
      inFlightBatches: this.#inFlight.size,
      queueCapacityRecords: this.#o.maxQueueRecords,
      spool: this.#spool?.stats() ?? null,
    };
  }

  #openSpool(): Promise<SpoolLink> {
    return SpoolLink.open(this.#o.spool!, {
      sink: this.#sink,
      acct: this.#acct,
      breaker: this.#breaker,
      log: this.#log,
      options: this.#o,
      canReplay: () => this.#opened && this.#state === "running" && this.#inFlight.size === 0,
      onChange: () => this.#pump(),
      logLine: (level, msg, fields) =>
        (this.#o.log ?? defaultLog)(level, msg, { sink: this.name, ...fields }),
    });
  }

  async #drainOnce(deadlineMs: number): Promise<DrainResult> {
    this.#state = "draining";
    this.#deadline = performance.now() + Math.max(0, deadlineMs);
    this.#cut();
    if (this.#spool !== undefined) return await this.#drainToSpool(this.#spool, deadlineMs);
    this.#breaker.probeNow();
    this.#pump();
    const inTime = this.#opened && await this.#waitIdle(Math.max(0, deadlineMs));
    if (!inTime) this.#abandon();
    this.#breaker.dispose();
    const closed = this.#opened && await this.#closeSink();
    this.#state = "closed";
    this.#log.flush();
    return { complete: inTime && closed && this.#deadlineDrops === 0 };
  }

  /**
   * Drain with a spool: a healthy sink gets until the deadline (less a reserve for spooling);
   * an unhealthy one (breaker not closed, or a backlog on disk) none. What is left in memory
   * then goes to the spool, which is synced and closed; the next run replays it.
   */
  async #drainToSpool(spool: SpoolLink, deadlineMs: number): Promise<DrainResult> {
    spool.stopReplay();
    const reserve = Math.min(1000, deadlineMs / 4);
    const healthy = this.#breaker.state === "closed" && !spool.active;
    if (healthy) {
      this.#pump();
      if (this.#opened) await this.#waitIdle(Math.max(0, deadlineMs - reserve));
    }
    this.#abort.abort();
    for (const job of [...this.#ready.splice(0), ...this.#inFlight]) {
      if (!job.settled) this.#toSpool(job);
    }
    const dropsBefore = this.#spoolDrops();
    const left = Math.max(0, this.#deadline - performance.now()) + this.#o.closeGraceMs;
    const synced = await withTimeout(
      spool.close().then(() => "ok" as const, (e: unknown) => {
        this.#log.report("spool_close", "error", "spool close failed", { error: String(e) });
        return "failed" as const;
      }),
      left,
    );
    this.#breaker.dispose();
    const closed = this.#opened && await this.#closeSink();
    this.#state = "closed";
    this.#log.flush();
    const lost = this.#spoolDrops() - dropsBefore;
    return { complete: synced === "ok" && closed && lost === 0 };
  }

  #spoolDrops(): number {
    const d = this.#acct.snapshot().droppedRecords;
    return d.spool_full + d.spool_io;
  }

  #onBreakerEvent = (e: BreakerEvent): void => {
    if (e.kind === "opened") {
      this.#log.report("breaker_open", "warn", "sink circuit breaker open; writes paused", {
        consecutive_failures: e.failures,
        probe_in_ms: e.cooldownMs,
        queued_records: this.#acct.queuedRecords,
      });
    } else if (e.kind === "closed") {
      this.#log.report("breaker_closed", "info", "sink recovered; circuit breaker closed", {
        open_ms: Math.round(e.openMs),
      });
    }
  };

  #onFlushTimer = (): void => {
    this.#flushTimer = undefined;
    this.#cut();
    this.#pump();
  };

  #cut(): void {
    if (this.#flushTimer !== undefined) {
      clearTimeout(this.#flushTimer);
      this.#flushTimer = undefined;
    }
    if (this.#pending.length === 0) return;
    const batch: SinkBatch = { id: newBatchId(), records: this.#pending };
    const events = this.#pendingEvents;
    this.#ready.push({ batch, events, attempts: 0, retries: 0, retryAfterMs: 0, settled: false });
    this.#pending = [];
    this.#pendingEvents = 0;
  }

  #schedulePump(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    queueMicrotask(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  #pump(): void {
    if (!this.#opened) return;
    if (this.#spool !== undefined && this.#state === "running" && this.#shouldSpool()) {
      for (const job of this.#ready.splice(0)) this.#toSpool(job);
    }
    while (this.#inFlight.size < this.#o.maxInFlight && this.#ready.length > 0) {
      const job = this.#ready.shift()!;
      this.#inFlight.add(job);
      void this.#deliver(job);
    }
    this.#spool?.kick();
    this.#checkIdle();
  }

  /** Ready batches go to the spool: it has a backlog, the sink is failing, or memory is half full. */
  #shouldSpool(): boolean {
    if (this.#ready.length === 0) return false;
    if (this.#spool!.active || this.#breaker.state !== "closed") return true;
    let ready = 0;
    for (const job of this.#ready) ready += job.batch.records.length;
    return ready > this.#o.maxQueueRecords / 2;
  }

  /** Hand a job's batch to the spool (the books move when it is on disk). */
  #toSpool(job: Job): void {
    job.settled = true;
    this.#spool!.append(job.batch, job.events);
  }

  async #deliver(job: Job): Promise<void> {
    try {
      for (;;) {
        if (this.#spool !== undefined) {
          if (job.settled || this.#abort.signal.aborted) break;
          // A batch the breaker holds back goes to disk rather than waiting in memory.
          if (!this.#breaker.tryAcquire()) {
            this.#toSpool(job);
            break;
          }
        } else {
          const admitted = this.#admitted(job);
          if (admitted !== true && !(await admitted)) break;
        }
        if (await this.#attempt(job) !== "retry") break;
        // While the breaker is not closed the gate does the waiting; no budget is spent.
        if (this.#breaker.state !== "closed") continue;
        const backoff = backoffDelayMs(job.retries, this.#o.backoff, this.#o.random);
        const delay = Math.max(backoff, job.retryAfterMs);
        if (performance.now() + delay > this.#deadline) {
          this.#giveUp(job, "shutdown_deadline");
          break;
        }
        job.retries++;
        await sleep(delay, this.#abort.signal);
      }
    } catch (err) {
      this.#log.report("runner_bug", "error", "sink runner failed a batch", { error: String(err) });
      if (!job.settled) this.#settle(job, "fatal");
    } finally {
      this.#inFlight.delete(job);
      this.#pump();
    }
  }

  /**
   * True when the breaker lets the job write now (synchronously, so a write starts in the same
   * tick as before the breaker existed), else a promise of the wait's outcome: false once the
   * job is settled or the runner aborted.
   */
  #admitted(job: Job): boolean | Promise<boolean> {
    if (job.settled || this.#abort.signal.aborted) return false;
    return this.#breaker.tryAcquire() || this.#gate(job);
  }

  async #gate(job: Job): Promise<boolean> {
    while (!job.settled && !this.#abort.signal.aborted) {
      if (this.#breaker.tryAcquire()) return true;
      await this.#breaker.changed(this.#abort.signal);
    }
    return false;
  }

  /** One write of the job's batch; says whether to retry. */
  async #attempt(job: Job): Promise<"done" | "retry"> {
    if (job.attempts++ > 0) this.#acct.retried();
    const t0 = performance.now();
    let result: number | void;
    try {
      result = await this.#sink.write(job.batch);
    } catch (err) {
      const code = err instanceof SinkError ? err.code : "unexpected";
      this.#acct.attempted((performance.now() - t0) / 1000, code);
      if (err instanceof SinkError && err.retryable) this.#breaker.failure();
      else this.#breaker.release();
      return job.settled ? "done" : this.#onWriteError(job, err);
    }
    this.#acct.attempted((performance.now() - t0) / 1000);
    this.#breaker.success();
    if (!job.settled) {
      job.settled = true;
      this.#acct.sent(
        job.batch.records.length,
        job.events,
        typeof result === "number" ? result : 0,
      );
    }
    return "done";
  }

  #onWriteError(job: Job, err: unknown): "done" | "retry" {
    const retryable = err instanceof SinkError && err.retryable;
    job.retryAfterMs = err instanceof SinkError ? err.retryAfterMs ?? 0 : 0;
    const fields = {
      code: err instanceof SinkError ? err.code : "unexpected",
      error: err instanceof Error ? err.message : String(err),
      batch_id: job.batch.id,
      records: job.batch.records.length,
      attempt: job.attempts,
    };
    const budgetLeft = job.retries < this.#o.backoff.maxRetries;
    if (retryable && (budgetLeft || this.#breaker.state !== "closed")) {
      this.#log.report("retry", "warn", "sink write failed, will retry", fields);
      return "retry";
    }
    const reason: DropReason = retryable ? "retries_exhausted" : "fatal";
    if (this.#giveUp(job, reason)) {
      this.#log.report("spooled", "warn", "sink retries exhausted; batch spooled", fields);
    } else {
      this.#log.report(reason, "error", "sink dropped a batch", fields);
    }
    return "done";
  }

  /** Spool the job when there is a spool and the sink may take it later; else drop it. */
  #giveUp(job: Job, reason: DropReason): boolean {
    if (this.#spool !== undefined && reason !== "fatal" && this.#state !== "closed") {
      this.#toSpool(job);
      return true;
    }
    this.#settle(job, reason);
    return false;
  }

  #settle(job: Job, reason: DropReason): void {
    job.settled = true;
    if (reason === "shutdown_deadline") this.#deadlineDrops++;
    this.#acct.dropped(reason, job.batch.records.length, job.events);
  }

  #checkIdle(): void {
    if (this.#ready.length > 0 || this.#inFlight.size > 0 || this.#pending.length > 0) return;
    if (this.#spool?.busy) return;
    for (const wake of this.#idleWaiters.splice(0)) wake();
  }

  /** Resolves true when nothing is queued, false when `ms` passed first. */
  #waitIdle(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.#idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
      this.#checkIdle();
    });
  }

  /** At the deadline: stop retries and count everything still held as dropped. */
  #abandon(): void {
    this.#abort.abort();
    for (const job of [...this.#ready.splice(0), ...this.#inFlight]) {
      if (!job.settled) this.#settle(job, "shutdown_deadline");
    }
    this.#inFlight.clear();
    const dropped = this.#acct.snapshot().droppedRecords.shutdown_deadline;
    this.#log.report("shutdown_deadline", "error", "sink drain hit its deadline", { dropped });
  }

  /** `sink.close()`, bounded by the time left to the deadline plus `closeGraceMs`. */
  async #closeSink(): Promise<boolean> {
    const left = Math.max(0, this.#deadline - performance.now()) + this.#o.closeGraceMs;
    const close = Promise.resolve().then(() => this.#sink.close()).then(
      () => "ok" as const,
      (err: unknown) => {
        this.#log.report("close_failed", "error", "sink close failed", { error: String(err) });
        return "failed" as const;
      },
    );
    const outcome = await withTimeout(close, left);
    if (outcome === "timeout") {
      this.#log.report("close_timeout", "error", "sink close did not finish", { waited_ms: left });
    }
    return outcome === "ok";
  }
}

/**
 * A runner for a configured sink: `batchSize`, `flushIntervalMs` and the runner keys
 * (`RUNNER_KEYS`: concurrency, queue, retry, breaker, filter) from its config section; `options`
 * override them. Throws `SinkError` (`sink_config`) for a bad runner key.
 *
 * @example
 * ```ts
 * const runner = createSinkRunner(createSink(cfg, deps), cfg);
 * ```
 */
export function createSinkRunner(
  sink: Sink,
  cfg: Pick<SinkConfig, "batchSize" | "flushIntervalMs"> & Partial<SinkConfig>,
  options: Partial<SinkRunnerOptions> = {},
  spool?: SpoolSettings,
): SinkRunner {
  const fromConfig = cfg.options === undefined && spool === undefined
    ? {}
    : runnerSettings({ name: cfg.name ?? sink.name, options: cfg.options ?? {} }, spool);
  return new SinkRunner(sink, {
    ...fromConfig,
    ...options,
    batchSize: cfg.batchSize,
    flushIntervalMs: cfg.flushIntervalMs,
  });
}

function eventsOf(record: TelemetryRecord): number {
  const n = record.events;
  return typeof n === "number" && n >= 0 ? n : 1;
}
