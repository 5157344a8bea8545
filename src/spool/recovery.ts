/**
 * Start-up recovery of one sink's spool directory: finds the segments, scans each one (CRC of
 * every frame), cuts torn tails, skips corrupt regions, removes files that are not segments
 * any more, applies the delivered watermark (`ack`), and reads the previous run's checkpoint
 * to tell whether it stopped cleanly and what it held in memory when it last wrote one.
 * Pipeline worker (at start-up). Never throws on damaged data: damage is measured and reported.
 * @module
 */

import { SpoolIndex } from "./_index.ts";
import { readAck, readCheckpoint } from "./_state_files.ts";
import { type Damage, scanSegment } from "./segment_scan.ts";

/** What recovery found; the runner logs it and exports it as telemetry_spool_recovery_*. */
export interface RecoveryReport {
  /** Frames, records and events found intact and not yet delivered. */
  frames: number;
  records: number;
  events: number;
  segments: number;
  /** Damage over every segment (torn tails and corrupt regions). */
  damage: Omit<Damage, "tornTailAt">;
  /** Segment files that were not segments at all (deleted). */
  badSegments: number;
  /** The previous run did not close the spool (crash, kill -9, power loss). */
  uncleanStop: boolean;
  /** Events the previous run held in memory at its last checkpoint (neither spooled nor sent). */
  heldEventsAtLastCheckpoint: number;
  /** When that checkpoint was written (ms since the epoch), or null. */
  lastCheckpointAt: number | null;
  seconds: number;
}

/** A recovered spool: its index and the next segment number to use. */
export interface Recovered {
  index: SpoolIndex;
  nextSeq: number;
  report: RecoveryReport;
}

const SEGMENT_NAME = /^(\d{16})\.seg$/;

/** The file name of segment `seq`. */
export function segmentName(seq: number): string {
  return `${String(seq).padStart(16, "0")}.seg`;
}

/** Recover `dir` (created when missing). */
export async function recoverSpool(dir: string): Promise<Recovered> {
  const t0 = performance.now();
  await Deno.mkdir(dir, { recursive: true });
  const seqs: number[] = [];
  for await (const e of Deno.readDir(dir)) {
    const m = SEGMENT_NAME.exec(e.name);
    if (m && e.isFile) seqs.push(Number(m[1]));
  }
  seqs.sort((a, b) => a - b);
  const ack = await readAck(dir);
  const previous = await readCheckpoint(dir);
  const index = new SpoolIndex();
  const damage = { frames: 0, bytes: 0, records: 0, events: 0 };
  let badSegments = 0;
  for (const seq of seqs) {
    const path = `${dir}/${segmentName(seq)}`;
    if (ack !== null && seq < ack.seq) {
      await Deno.remove(path); // wholly delivered before the stop
      continue;
    }
    const bytes = await Deno.readFile(path);
    const scan = scanSegment(bytes);
    damage.frames += scan.damage.frames;
    damage.bytes += scan.damage.bytes;
    damage.records += scan.damage.records;
    damage.events += scan.damage.events;
    if (!scan.headerOk) {
      badSegments++;
      await Deno.remove(path);
      continue;
    }
    let size = bytes.length;
    if (scan.damage.tornTailAt !== null) {
      size = scan.damage.tornTailAt;
      await Deno.truncate(path, size);
    }
    const segment = index.addSegment(seq, path, size);
    for (const f of scan.frames) {
      index.addFrame(segment, f);
      if (ack !== null && seq === ack.seq && f.offset < ack.offset) {
        index.done({ segment, frame: segment.frames.at(-1)! });
      }
    }
  }
  for (const s of index.takeFinished(undefined)) await Deno.remove(s.path);
  const report: RecoveryReport = {
    frames: index.frames,
    records: index.records,
    events: index.events,
    segments: index.segments.length,
    damage,
    badSegments,
    uncleanStop: previous !== null && !previous.clean,
    heldEventsAtLastCheckpoint: previous !== null && !previous.clean ? previous.heldEvents : 0,
    lastCheckpointAt: previous?.at ?? null,
    seconds: (performance.now() - t0) / 1000,
  };
  return { index, nextSeq: (seqs.at(-1) ?? 0) + 1, report };
}
