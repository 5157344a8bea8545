/**
 * The runner's link to its spool: appends batches it gives up on memory for (keeping the books:
 * queued → spooled, or dropped `spool_full` / `spool_io`), replays spooled frames in order
 * through the sink with the runner's breaker and backoff (spooled → sent; a frame never runs out
 * of retries, it stays on disk), and reports what start-up recovery found.
 * Pipeline worker. Never blocks `push`; stops replaying at drain, leaving frames on disk.
 * @module
 */

import { backoffDelayMs } from "./backoff.ts";
import { type Sink, type SinkBatch, SinkError } from "./contract.ts";
import type { SinkAccounting } from "./_accounting.ts";
import type { CircuitBreaker } from "./_breaker.ts";
import type { RateLimitedLog } from "./_rate_log.ts";
import type { ResolvedRunnerOptions } from "./_runner_options.ts";
import { sleep } from "./_timers.ts";
import { type ReplayItem, Spool, type SpoolStats } from "../spool/spool.ts";
import type { SpoolOptions } from "../spool/options.ts";
import type { RecoveryReport } from "../spool/recovery.ts";

/** What the link needs from its runner. */
export interface SpoolLinkDeps {
  sink: Sink;
  acct: SinkAccounting;
  breaker: CircuitBreaker;
  log: RateLimitedLog;
  options: ResolvedRunnerOptions;
  /** Whether replay may write now (opened, running, no direct batch in flight). */
  canReplay(): boolean;
  /** An append or a replay finished: the runner re-pumps and checks for idle. */
  onChange(): void;
  /** The plain log, for the once-only recovery lines. */
  logLine(level: "info" | "warn" | "error", msg: string, fields: object): void;
}

/** One runner's spool and its replay. */
export class SpoolLink {
  readonly #spool: Spool;
  readonly #d: SpoolLinkDeps;
  #appends = 0;
  #replays = 0;
  #stopped = false;
  readonly #abort = new AbortController();

  private constructor(spool: Spool, deps: SpoolLinkDeps) {
    this.#spool = spool;
    this.#d = deps;
  }

  /** Open (recover) the spool, count what it holds and log what recovery found. */
  static async open(o: SpoolOptions, d: SpoolLinkDeps): Promise<SpoolLink> {
    const spool = await Spool.open(o, {
      onEvicted: (c) => d.acct.spoolDropped("spool_full", c.records, c.events),
      held: () => {
        const s = d.acct.snapshot();
        return { records: s.queuedRecords, events: s.queuedEvents };
      },
      log: (level, msg, fields) => d.log.report(`spool_${level}_${msg}`, level, msg, fields),
    });
    const link = new SpoolLink(spool, d);
    d.acct.recovered(spool.records, spool.events);
    reportRecovery(spool.recovery, o, d.logLine);
    return link;
  }

  /** Spooling mode: the spool holds frames or appends are under way; new batches go to it. */
  get active(): boolean {
    return this.#appends > 0 || !this.#spool.empty;
  }

  /** Appends or replay writes under way. */
  get busy(): boolean {
    return this.#appends > 0 || this.#replays > 0;
  }

  stats(): SpoolStats {
    return this.#spool.stats();
  }

  /** Append a batch the runner holds in memory; the books move when it is on disk. */
  append(batch: SinkBatch, events: number): void {
    const records = batch.records.length;
    this.#appends++;
    this.#spool.append(batch.id, batch.records, events).then(
      (outcome) => {
        if (outcome === "spooled") this.#d.acct.spooled(records, events);
        else this.#d.acct.dropped(outcome === "full" ? "spool_full" : "spool_io", records, events);
      },
      (err: unknown) => {
        this.#d.acct.dropped("spool_io", records, events);
        this.#d.log.report("spool_io", "error", "spool append failed; batch dropped", {
          error: String(err),
          records,
        });
      },
    ).finally(() => {
      this.#appends--;
      this.#d.onChange();
    });
  }

  /** Start replay writes up to `max-in-flight` when the runner allows it. */
  kick(): void {
    while (
      !this.#stopped && this.#replays < this.#d.options.maxInFlight &&
      this.#d.canReplay() && this.#spool.hasUnread()
    ) {
      this.#replays++;
      void this.#replayNext();
    }
  }

  /** Stop replaying (drain): waits end now, frames not delivered stay on disk. */
  stopReplay(): void {
    this.#stopped = true;
    this.#abort.abort();
  }

  /** Sync and close the spool (after every append made so far). */
  close(): Promise<void> {
    return this.#spool.close();
  }

  async #replayNext(): Promise<void> {
    try {
      const item = await this.#spool.read();
      if (item !== null) await this.#replay(item);
    } catch (err) {
      this.#d.log.report("runner_bug", "error", "spool replay failed", { error: String(err) });
    } finally {
      this.#replays--;
      this.#d.onChange();
    }
  }

  async #replay(item: ReplayItem): Promise<void> {
    const { batch, records, events, handle } = item;
    if (batch === null) {
      this.#d.acct.spoolDropped("spool_corrupt", records, events);
      this.#spool.done(handle);
      return;
    }
    const { breaker, acct } = this.#d;
    for (let attempt = 0; !this.#stopped; attempt++) {
      if (!breaker.tryAcquire()) {
        attempt--;
        await breaker.changed(this.#abort.signal);
        continue;
      }
      if (attempt > 0) acct.retried();
      const outcome = await this.#write(batch);
      if (outcome === "retry") {
        if (breaker.state !== "closed") continue;
        const o = this.#d.options;
        await sleep(backoffDelayMs(Math.min(attempt, 30), o.backoff, o.random), this.#abort.signal);
        continue;
      }
      if (typeof outcome === "number") acct.replayed(records, events, outcome);
      else acct.spoolDropped("fatal", records, events);
      this.#spool.done(handle);
      return;
    }
  }

  /** One write of a replayed batch: bytes written, "retry", or "fatal". */
  async #write(batch: SinkBatch): Promise<number | "retry" | "fatal"> {
    const { breaker, sink, acct, log } = this.#d;
    const t0 = performance.now();
    try {
      const result = await sink.write(batch);
      acct.attempted((performance.now() - t0) / 1000);
      breaker.success();
      return typeof result === "number" ? result : 0;
    } catch (err) {
      const code = err instanceof SinkError ? err.code : "unexpected";
      acct.attempted((performance.now() - t0) / 1000, code);
      const retryable = err instanceof SinkError && err.retryable;
      if (retryable) breaker.failure();
      else breaker.release();
      const fields = { code, error: err instanceof Error ? err.message : String(err) };
      if (retryable) {
        log.report("replay_retry", "warn", "spool replay write failed, will retry", fields);
        return "retry";
      }
      log.report("fatal", "error", "sink dropped a spooled batch", {
        ...fields,
        batch_id: batch.id,
      });
      return "fatal";
    }
  }
}

function reportRecovery(
  r: RecoveryReport,
  o: SpoolOptions,
  logLine: SpoolLinkDeps["logLine"],
): void {
  if (r.uncleanStop) {
    logLine("warn", "previous run stopped without closing the spool (crash or kill -9)", {
      spool: o.directory,
      held_events_at_last_checkpoint: r.heldEventsAtLastCheckpoint,
      last_checkpoint_at: r.lastCheckpointAt === null
        ? null
        : new Date(r.lastCheckpointAt).toISOString(),
      fsync_ms: o.fsyncMs,
      torn_frames: r.damage.frames,
      torn_events: r.damage.events,
    });
  }
  if (r.damage.frames > 0 || r.badSegments > 0) {
    logLine("warn", "spool damage found at start-up: torn or corrupt frames skipped", {
      spool: o.directory,
      frames: r.damage.frames,
      bytes: r.damage.bytes,
      records: r.damage.records,
      events: r.damage.events,
      bad_segments: r.badSegments,
    });
  }
  logLine("info", "spool opened", {
    spool: o.directory,
    records: r.records,
    events: r.events,
    segments: r.segments,
    recovery_ms: Math.round(r.seconds * 1000),
  });
}
