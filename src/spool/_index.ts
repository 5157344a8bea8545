/**
 * The spool's in-memory index: segments in order, their intact frames and each frame's state
 * (unread, being replayed, done), the replay cursor, the delivered watermark, and eviction of
 * the oldest segment for the drop-oldest policy. Counts what the spool holds (frames not done).
 * Pipeline worker. Pure bookkeeping; never touches the disk.
 * @module
 */

import type { FrameRef } from "./segment_scan.ts";

const UNREAD = 0;
const IN_FLIGHT = 1;
const DONE = 2;

/** A frame and its replay state. */
export interface IndexedFrame extends FrameRef {
  state: 0 | 1 | 2;
}

/** A segment file and its frames. */
export interface IndexedSegment {
  seq: number;
  path: string;
  /** File size. */
  bytes: number;
  frames: IndexedFrame[];
  /** Frames not done yet. */
  live: number;
}

/** A frame handed to the replayer. */
export interface FrameHandle {
  segment: IndexedSegment;
  frame: IndexedFrame;
}

/** Records and events, as counted by frame headers. */
export interface Counts {
  frames: number;
  records: number;
  events: number;
}

/** The index. */
export class SpoolIndex {
  readonly segments: IndexedSegment[] = [];
  #records = 0;
  #events = 0;
  #frames = 0;
  #bytes = 0;
  /** Where to look for the next unread frame. */
  #seg = 0;
  #frame = 0;

  get records(): number {
    return this.#records;
  }
  get events(): number {
    return this.#events;
  }
  /** Frames not done. */
  get frames(): number {
    return this.#frames;
  }
  /** Bytes of every segment file. */
  get bytes(): number {
    return this.#bytes;
  }

  addSegment(seq: number, path: string, bytes: number): IndexedSegment {
    const s: IndexedSegment = { seq, path, bytes, frames: [], live: 0 };
    this.segments.push(s);
    this.#bytes += bytes;
    return s;
  }

  /** A frame now on disk at the end of `s` (which grew by `grewBy` bytes). */
  addFrame(s: IndexedSegment, ref: FrameRef, grewBy = 0): void {
    s.frames.push({ ...ref, state: UNREAD });
    s.live++;
    s.bytes += grewBy;
    this.#bytes += grewBy;
    this.#count(ref, 1);
  }

  /** A segment's file grew or shrank without a frame (a failed write cut back). */
  resize(s: IndexedSegment, bytes: number): void {
    this.#bytes += bytes - s.bytes;
    s.bytes = bytes;
  }

  /** The oldest unread frame, now marked in flight; null when every frame was handed out. */
  takeNext(): FrameHandle | null {
    while (this.#seg < this.segments.length) {
      const s = this.segments[this.#seg];
      while (this.#frame < s.frames.length) {
        const f = s.frames[this.#frame++];
        if (f.state !== UNREAD) continue;
        f.state = IN_FLIGHT;
        return { segment: s, frame: f };
      }
      if (this.#seg === this.segments.length - 1) return null;
      this.#seg++;
      this.#frame = 0;
    }
    return null;
  }

  /** Whether an unread frame exists. */
  hasUnread(): boolean {
    for (let i = this.#seg; i < this.segments.length; i++) {
      const s = this.segments[i];
      const from = i === this.#seg ? this.#frame : 0;
      for (let j = from; j < s.frames.length; j++) if (s.frames[j].state === UNREAD) return true;
    }
    return false;
  }

  /** A frame delivered or given up: it leaves the spool. Idempotent. */
  done(h: FrameHandle): void {
    if (h.frame.state === DONE) return;
    h.frame.state = DONE;
    h.segment.live--;
    this.#count(h.frame, -1);
  }

  /**
   * Drop the oldest segment's unread frames (drop-oldest). Frames in flight stay (their write
   * decides). Returns what was dropped, or null when no segment is left to evict but `keep`.
   */
  evictOldest(keep: IndexedSegment | undefined): Counts | null {
    const s = this.segments.find((x) => x !== keep && x.frames.some((f) => f.state === UNREAD));
    if (s === undefined) return null;
    const out: Counts = { frames: 0, records: 0, events: 0 };
    for (const f of s.frames) {
      if (f.state !== UNREAD) continue;
      f.state = DONE;
      s.live--;
      this.#count(f, -1);
      out.frames++;
      out.records += f.records;
      out.events += f.events;
    }
    return out;
  }

  /** Remove and return every segment whose frames are all done (but `keep`). */
  takeFinished(keep: IndexedSegment | undefined): IndexedSegment[] {
    const out: IndexedSegment[] = [];
    for (let i = 0; i < this.segments.length;) {
      const s = this.segments[i];
      if (s === keep || s.live > 0) {
        i++;
        continue;
      }
      this.segments.splice(i, 1);
      this.#bytes -= s.bytes;
      out.push(s);
      if (i < this.#seg) this.#seg--;
      else if (i === this.#seg) this.#frame = 0;
    }
    return out;
  }

  /** Segment and offset of the oldest frame not done (the end of the last segment if none). */
  watermark(): { seq: number; offset: number } {
    for (const s of this.segments) {
      const f = s.frames.find((x) => x.state !== DONE);
      if (f !== undefined) return { seq: s.seq, offset: f.offset };
    }
    const last = this.segments.at(-1);
    return last === undefined ? { seq: 0, offset: 0 } : { seq: last.seq, offset: last.bytes };
  }

  /** Spooled-at (Unix seconds) of the oldest frame not done, or null when empty. */
  oldestAtSeconds(): number | null {
    for (const s of this.segments) {
      const f = s.frames.find((x) => x.state !== DONE);
      if (f !== undefined) return f.atSeconds;
    }
    return null;
  }

  #count(f: FrameRef, sign: 1 | -1): void {
    this.#frames += sign;
    this.#records += sign * f.records;
    this.#events += sign * f.events;
  }
}
