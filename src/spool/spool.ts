/**
 * A durable, size-capped, ordered spool for one sink: batches the runner cannot deliver are
 * appended as CRC-checked frames to segment files, read back in order for replay, and deleted a
 * segment at a time once delivered. Writes reach the disk (fdatasync) within `fsync-ms`; the
 * delivered watermark and a checkpoint are written on the same tick. At the cap, or when the
 * disk is full, the full-policy decides: drop the oldest segment's frames or the new batch —
 * counted, never blocking. All file work runs on one ordered chain, off the caller's path.
 * Pipeline worker. `append` and `read` are async; nothing here waits on a sink.
 * Emits (via `stats()`): the numbers behind telemetry_spool_*{sink}.
 * @module
 */

import type { TelemetryRecord } from "../record/schema.ts";
import { type Counts, type FrameHandle, type IndexedSegment, SpoolIndex } from "./_index.ts";
import { encodeAck, writeCheckpoint } from "./_state_files.ts";
import { isDiskFull, SpoolError } from "./errors.ts";
import { decodeFrame, encodeFrame, SEGMENT_MAGIC, type SpooledBatch } from "./frame.ts";
import type { SpoolOptions } from "./options.ts";
import { recoverSpool, type RecoveryReport, segmentName } from "./recovery.ts";

export type { FrameHandle } from "./_index.ts";

/** How an append ended: on disk, or dropped by the full-policy (`full`) or an I/O error. */
export type AppendOutcome = "spooled" | "full" | "io_error";

/** A frame read back for replay. `batch` is null when it failed its check on the way back. */
export interface ReplayItem {
  handle: FrameHandle;
  batch: SpooledBatch | null;
  records: number;
  events: number;
}

/** Callbacks the runner gives the spool. */
export interface SpoolHooks {
  /** Frames the drop-oldest policy removed (never in flight). */
  onEvicted(c: Counts): void;
  /** Records and events the caller holds in memory (for the checkpoint). */
  held(): { records: number; events: number };
  log(level: "info" | "warn" | "error", msg: string, fields?: object): void;
}

/** Plain numbers for metrics and /healthz. */
export interface SpoolStats {
  bytes: number;
  maxBytes: number;
  segments: number;
  frames: number;
  records: number;
  events: number;
  /** Age of the oldest frame not delivered (s); 0 when empty. */
  oldestSeconds: number;
  fsyncs: number;
  writeErrors: number;
  /** Appends refused or evictions made because the cap was reached or the disk was full. */
  fullEvents: number;
  recovery: RecoveryReport;
}

/** A sink's spool. Create with `Spool.open`. */
export class Spool {
  readonly #o: SpoolOptions;
  readonly #hooks: SpoolHooks;
  readonly #index: SpoolIndex;
  readonly recovery: RecoveryReport;
  #nextSeq: number;
  #active: { segment: IndexedSegment; file: Deno.FsFile } | undefined;
  #io: Promise<unknown> = Promise.resolve();
  #dirty = false;
  #ackDirty = true;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  #fsyncs = 0;
  #writeErrors = 0;
  #fullEvents = 0;

  private constructor(
    o: SpoolOptions,
    hooks: SpoolHooks,
    index: SpoolIndex,
    nextSeq: number,
    r: RecoveryReport,
  ) {
    this.#o = o;
    this.#hooks = hooks;
    this.#index = index;
    this.#nextSeq = nextSeq;
    this.recovery = r;
  }

  /** Recover the directory (see recovery.ts) and start the fsync/checkpoint tick. */
  static async open(o: SpoolOptions, hooks: SpoolHooks): Promise<Spool> {
    let rec;
    try {
      rec = await recoverSpool(o.directory);
    } catch (e) {
      throw new SpoolError(`cannot open spool ${o.directory}: ${message(e)}`, {
        code: "spool_io",
        cause: e,
      });
    }
    const spool = new Spool(o, hooks, rec.index, rec.nextSeq, rec.report);
    await spool.#checkpoint(false);
    spool.#timer = setInterval(() => void spool.#tick(), Math.max(50, o.fsyncMs || 1000));
    return spool;
  }

  /** Records, events and frames held (not yet delivered). */
  get records(): number {
    return this.#index.records;
  }
  get events(): number {
    return this.#index.events;
  }
  get empty(): boolean {
    return this.#index.frames === 0;
  }

  /** Whether a frame is waiting to be read for replay. */
  hasUnread(): boolean {
    return this.#index.hasUnread();
  }

  /** Append one batch (after every earlier append). Resolves once it is on disk or refused. */
  append(id: string, records: TelemetryRecord[], events: number): Promise<AppendOutcome> {
    if (this.#closed) return Promise.resolve("io_error");
    const frame = encodeFrame({ id, records }, events);
    return this.#enqueue(() => this.#append(frame, records.length, events));
  }

  /** The oldest unread frame, read back and checked; null when none is unread. */
  read(): Promise<ReplayItem | null> {
    const handle = this.#index.takeNext();
    if (handle === null) return Promise.resolve(null);
    return this.#enqueue(async () => {
      const { frame, segment } = handle;
      let batch: SpooledBatch | null = null;
      try {
        batch = decodeFrame(await readAt(segment.path, frame.offset, frame.bytes));
      } catch (e) {
        this.#hooks.log("error", "spool frame unreadable on replay; skipped", {
          segment: segment.path,
          offset: frame.offset,
          records: frame.records,
          error: message(e),
        });
      }
      return { handle, batch, records: frame.records, events: frame.events };
    });
  }

  /** A replayed frame was delivered or given up: it leaves the spool. */
  done(h: FrameHandle): void {
    this.#index.done(h);
    this.#ackDirty = true;
    if (this.#index.frames === 0 || h.segment !== this.#active?.segment) {
      void this.#enqueue(() => this.#removeFinished());
    }
  }

  /** Sync now (the tick's work): data, watermark, checkpoint. */
  sync(): Promise<void> {
    return this.#enqueue(() => this.#syncNow(false));
  }

  /** Sync, write a clean checkpoint and release the files. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#enqueue(async () => {
      await this.#syncNow(true);
      this.#active?.file.close();
      this.#active = undefined;
    });
  }

  stats(): SpoolStats {
    const oldest = this.#index.oldestAtSeconds();
    return {
      bytes: this.#index.bytes,
      maxBytes: this.#o.maxBytes,
      segments: this.#index.segments.length,
      frames: this.#index.frames,
      records: this.#index.records,
      events: this.#index.events,
      oldestSeconds: oldest === null ? 0 : Math.max(0, Date.now() / 1000 - oldest),
      fsyncs: this.#fsyncs,
      writeErrors: this.#writeErrors,
      fullEvents: this.#fullEvents,
      recovery: this.recovery,
    };
  }

  #enqueue<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#io.then(work);
    this.#io = next.catch(() => {});
    return next;
  }

  async #append(frame: Uint8Array, records: number, events: number): Promise<AppendOutcome> {
    if (!this.#makeRoom(frame.length)) return this.#full("cap", records);
    for (let attempt = 0;; attempt++) {
      try {
        await this.#write(frame, records, events);
        return "spooled";
      } catch (e) {
        if (!isDiskFull(e)) {
          this.#writeErrors++;
          this.#hooks.log("error", "spool write failed; batch dropped", { error: message(e) });
          return "io_error";
        }
        const freed = attempt === 0 && this.#o.fullPolicy === "drop-oldest" && this.#evict();
        if (freed) await this.#removeFinished();
        else return this.#full("disk", records);
      }
    }
  }

  /** Make room under the cap for `bytes` more (drop-oldest evicts); false: no room. */
  #makeRoom(bytes: number): boolean {
    while (this.#index.bytes + bytes > this.#o.maxBytes) {
      if (this.#o.fullPolicy === "drop-newest" || !this.#evict()) return false;
      this.#removeFinishedSync();
    }
    return true;
  }

  #evict(): boolean {
    const c = this.#index.evictOldest(undefined);
    if (c === null) return false;
    this.#fullEvents++;
    this.#ackDirty = true;
    this.#hooks.onEvicted(c);
    this.#hooks.log("warn", "spool full: dropped its oldest segment", {
      policy: this.#o.fullPolicy,
      records: c.records,
      max_bytes: this.#o.maxBytes,
    });
    return true;
  }

  #full(why: "cap" | "disk", records: number): AppendOutcome {
    this.#fullEvents++;
    this.#hooks.log("warn", "spool full: new batch dropped", {
      reason: why === "cap" ? "max_bytes" : "disk_full",
      policy: this.#o.fullPolicy,
      records,
      max_bytes: this.#o.maxBytes,
    });
    return "full";
  }

  async #write(frame: Uint8Array, records: number, events: number): Promise<void> {
    const active = await this.#activeFor(frame.length);
    const start = active.segment.bytes;
    try {
      await writeAll(active.file, frame);
    } catch (e) {
      await active.file.truncate(start).catch(() => {}); // the error below is what counts
      throw e;
    }
    const ref = {
      offset: start,
      bytes: frame.length,
      records,
      events,
      atSeconds: Date.now() / 1000,
    };
    this.#index.addFrame(active.segment, ref, frame.length);
    this.#dirty = true;
    if (this.#o.fsyncMs === 0) await this.#syncData();
  }

  /** The segment to append to: the active one, or a new one when it would pass segment-bytes. */
  async #activeFor(bytes: number) {
    const a = this.#active;
    if (
      a !== undefined &&
      (a.segment.bytes + bytes <= this.#o.segmentBytes || a.segment.frames.length === 0)
    ) {
      return a;
    }
    if (a !== undefined) {
      await this.#syncData();
      a.file.close();
      this.#active = undefined;
    }
    const seq = this.#nextSeq++;
    const path = `${this.#o.directory}/${segmentName(seq)}`;
    // O_APPEND: after a failed write is cut back, the next one lands at the new end.
    const file = await Deno.open(path, { append: true, createNew: true });
    try {
      await writeAll(file, SEGMENT_MAGIC);
    } catch (e) {
      file.close();
      await Deno.remove(path).catch(() => {});
      throw e;
    }
    const segment = this.#index.addSegment(seq, path, SEGMENT_MAGIC.length);
    this.#active = { segment, file };
    return this.#active;
  }

  async #removeFinished(): Promise<void> {
    for (const path of this.#finishedPaths()) await Deno.remove(path).catch((e) => this.#ioLog(e));
  }

  #removeFinishedSync(): void {
    for (const path of this.#finishedPaths()) {
      try {
        Deno.removeSync(path);
      } catch (e) {
        this.#ioLog(e);
      }
    }
  }

  /** Segments wholly done leave the index; the active one too when the spool is empty. */
  #finishedPaths(): string[] {
    const empty = this.#index.frames === 0;
    const keep = empty ? undefined : this.#active?.segment;
    const out = this.#index.takeFinished(keep).map((s) => s.path);
    if (
      empty && this.#active !== undefined && !this.#index.segments.includes(this.#active.segment)
    ) {
      this.#active.file.close();
      this.#active = undefined;
      this.#dirty = false;
    }
    if (out.length > 0) this.#ackDirty = true;
    return out;
  }

  async #tick(): Promise<void> {
    if (this.#closed) return;
    await this.#enqueue(() => this.#syncNow(false)).catch((e) => this.#ioLog(e));
  }

  async #syncNow(clean: boolean): Promise<void> {
    if (this.#dirty) await this.#syncData();
    if (this.#ackDirty) {
      this.#ackDirty = false;
      await Deno.writeFile(`${this.#o.directory}/ack`, encodeAck(this.#index.watermark()));
    }
    await this.#checkpoint(clean);
  }

  async #syncData(): Promise<void> {
    if (this.#active === undefined) return;
    this.#dirty = false;
    await this.#active.file.syncData();
    this.#fsyncs++;
  }

  async #checkpoint(clean: boolean): Promise<void> {
    const held = clean ? { records: 0, events: 0 } : this.#hooks.held();
    await writeCheckpoint(this.#o.directory, {
      clean,
      at: Date.now(),
      pid: Deno.pid,
      heldRecords: held.records,
      heldEvents: held.events,
    });
  }

  #ioLog(e: unknown): void {
    this.#writeErrors++;
    this.#hooks.log("error", "spool file operation failed", { error: message(e) });
  }
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.length) at += await file.write(bytes.subarray(at));
}

async function readAt(path: string, offset: number, length: number): Promise<Uint8Array> {
  using file = await Deno.open(path, { read: true });
  await file.seek(offset, Deno.SeekMode.Start);
  const out = new Uint8Array(length);
  let at = 0;
  while (at < length) {
    const n = await file.read(out.subarray(at));
    if (n === null) throw new Error(`segment ends ${length - at} bytes early`);
    at += n;
  }
  return out;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
