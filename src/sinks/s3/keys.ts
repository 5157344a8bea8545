/**
 * Where a batch's records go in the bucket: Hive-style time partitions by each record's own
 * `timestamp` (`dt=YYYY-MM-DD/hour=HH/`, UTC) and object names made from the batch id, so a
 * retried batch rewrites the very same keys (idempotent). A partition's records are split into
 * several objects when their NDJSON size passes `max-object-bytes` (`<batch id>-1`, `-2`, ...).
 * Any thread. Pure: the same batch always gives the same keys and groups.
 * @module
 */

import type { TelemetryRecord } from "../../record/schema.ts";

/** Records bound for one object. */
export interface ObjectGroup {
  /** Key without extension: `<prefix>dt=…/hour=…/<batch id>[-n]`. */
  stem: string;
  records: TelemetryRecord[];
}

/** `dt=YYYY-MM-DD/hour=HH/` for a time in ms (UTC). */
export function partitionOf(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `dt=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}/`;
}

/** The ms time a UUIDv7 carries (its first 48 bits), or `undefined` for another id. */
export function uuidV7Time(id: string): number | undefined {
  const hex = id.replace(/-/g, "");
  if (!/^[0-9a-f]{12}7/i.test(hex)) return undefined;
  return parseInt(hex.slice(0, 12), 16);
}

/**
 * Group a batch's records into objects: by partition (in the order partitions first appear),
 * then split so that no object's records exceed `maxBytes` of NDJSON (a record larger than
 * that gets an object of its own). `sizeOf` gives a record's NDJSON size.
 *
 * @example
 * ```ts
 * groupObjects("telemetry/", batch.id, batch.records, 256 << 20, (r) => JSON.stringify(r).length + 1);
 * ```
 */
export function groupObjects(
  prefix: string,
  batchId: string,
  records: readonly TelemetryRecord[],
  maxBytes: number,
  sizeOf: (r: TelemetryRecord) => number,
): ObjectGroup[] {
  const fallback = uuidV7Time(batchId) ?? 0;
  const byPartition = new Map<string, TelemetryRecord[]>();
  for (const r of records) {
    const t = Date.parse(r.timestamp);
    const part = partitionOf(Number.isNaN(t) ? fallback : t);
    let list = byPartition.get(part);
    if (list === undefined) byPartition.set(part, list = []);
    list.push(r);
  }
  const out: ObjectGroup[] = [];
  for (const [part, list] of byPartition) {
    let n = 0;
    let current: TelemetryRecord[] = [];
    let bytes = 0;
    for (const r of list) {
      const size = sizeOf(r);
      if (current.length > 0 && bytes + size > maxBytes) {
        out.push({ stem: stem(prefix, part, batchId, n++), records: current });
        current = [];
        bytes = 0;
      }
      current.push(r);
      bytes += size;
    }
    out.push({ stem: stem(prefix, part, batchId, n), records: current });
  }
  return out;
}

function stem(prefix: string, partition: string, batchId: string, n: number): string {
  return `${prefix}${partition}${batchId}${n === 0 ? "" : `-${n}`}`;
}
