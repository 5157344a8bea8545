/**
 * File names of the file sink and the step that makes a file visible: an open file is a hidden
 * `.<prefix>-<stamp>-<seq>.<format>.part` of NDJSON lines; publishing an NDJSON file renames it
 * to `<prefix>-<stamp>-<seq>.ndjson` (never over an existing file); a Parquet file is converted
 * from its part file by a `Publisher` (`_file_parquet.ts`). Also recovers `.part` files a crashed
 * run left behind: cut to the last complete line, then published (empty ones deleted).
 * Pipeline worker. Never leaves a torn line in a published file; never touches other prefixes.
 * @module
 */

import { ioError } from "./_io_error.ts";

const NL = 0x0a;
const TAIL_CHUNK = 64 * 1024;

/** `YYYYMMDDTHHMMSSmmmZ` in UTC: sorts as text in time order. */
export function fileStamp(date: Date): string {
  return date.toISOString().replace(/[-:.]/g, "");
}

/** What a published file holds. */
export type FileFormat = "ndjson" | "parquet";

/** Makes a whole part file `dir/part` visible under its final name; resolves to that name. */
export type Publisher = (dir: string, part: string) => Promise<string>;

/** The hidden name of an open file. */
export function partName(
  prefix: string,
  stamp: string,
  seq: number,
  format: FileFormat = "ndjson",
): string {
  return `.${prefix}-${stamp}-${String(seq).padStart(6, "0")}.${format}.part`;
}

/** Matches the part files of `prefix` (and only those) holding `format`. */
export function partPattern(prefix: string, format: FileFormat = "ndjson"): RegExp {
  const p = prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`^\\.${p}-\\d{8}T\\d{9}Z-\\d+\\.${format}\\.part$`);
}

/** `<prefix>-<stamp>-<seq>` of a part name, and its format. */
export function partBase(part: string): { base: string; format: FileFormat } {
  const format: FileFormat = part.endsWith(".parquet.part") ? "parquet" : "ndjson";
  return { base: part.slice(1, -`.${format}.part`.length), format };
}

/**
 * Rename `dir/from` to `<base>.<ext>`, or `<base>-1.<ext>`, `-2`, ... when that exists.
 * Returns the final name.
 */
export async function renameUnique(
  dir: string,
  from: string,
  base: string,
  ext: string,
): Promise<string> {
  for (let n = 0;; n++) {
    const name = n === 0 ? `${base}.${ext}` : `${base}-${n}.${ext}`;
    if (await exists(`${dir}/${name}`)) continue;
    try {
      await Deno.rename(`${dir}/${from}`, `${dir}/${name}`);
    } catch (err) {
      throw ioError(err, `cannot publish ${dir}/${from} as ${name}`);
    }
    return name;
  }
}

/** What `recoverParts` did. */
export interface RecoveryReport {
  /** Part files published. */
  published: number;
  /** Part files deleted because they held no complete line. */
  deleted: number;
  /** Bytes of torn last lines cut off. */
  cutBytes: number;
}

/**
 * Rename `dir/part` to its final name; if that exists, `-1`, `-2`, ... is added before
 * `.ndjson`. Returns the final name. The caller has already fsynced the file.
 */
export function publish(dir: string, part: string): Promise<string> {
  return renameUnique(dir, part, partBase(part).base, "ndjson");
}

/**
 * Make a leftover part file whole and publish it: cut to `size` bytes when known, else to the
 * last "\n"; delete it when nothing complete is left. Returns the bytes cut off and the name.
 */
export async function recoverPart(
  dir: string,
  part: string,
  size?: number,
  publisher: Publisher = publish,
): Promise<{ cutBytes: number; published: string | null }> {
  const path = `${dir}/${part}`;
  let cutBytes = 0;
  let keep = 0;
  try {
    using file = await Deno.open(path, { read: true, write: true });
    const actual = (await file.stat()).size;
    keep = size !== undefined && size <= actual ? size : await lastLineEnd(file, actual);
    cutBytes = Math.max(0, actual - keep);
    if (cutBytes > 0) await file.truncate(keep);
    if (keep > 0) await file.sync();
  } catch (err) {
    throw ioError(err, `cannot recover ${path}`);
  }
  if (keep === 0) {
    await Deno.remove(path).catch((err) => {
      throw ioError(err, `cannot delete empty ${path}`);
    });
    return { cutBytes, published: null };
  }
  return { cutBytes, published: await publisher(dir, part) };
}

/**
 * Recover every part file of `prefix` in `dir` (a previous run's leftovers), NDJSON and
 * Parquet alike; `parquet` publishes a Parquet part (converting it).
 */
export async function recoverParts(
  dir: string,
  prefix: string,
  parquet?: Publisher,
): Promise<RecoveryReport> {
  const ndjsonRe = partPattern(prefix, "ndjson");
  const parquetRe = partPattern(prefix, "parquet");
  const parts: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      const ours = ndjsonRe.test(entry.name) || (parquet && parquetRe.test(entry.name));
      if (entry.isFile && ours) parts.push(entry.name);
    }
  } catch (err) {
    throw ioError(err, `cannot list ${dir}`);
  }
  const report: RecoveryReport = { published: 0, deleted: 0, cutBytes: 0 };
  for (const part of parts.sort()) {
    const publisher = parquetRe.test(part) && parquet ? parquet : publish;
    const { cutBytes, published } = await recoverPart(dir, part, undefined, publisher);
    report.cutBytes += cutBytes;
    if (published === null) report.deleted++;
    else report.published++;
  }
  return report;
}

/** Offset just past the last "\n" in the first `size` bytes (0 when there is none). */
async function lastLineEnd(file: Deno.FsFile, size: number): Promise<number> {
  const buf = new Uint8Array(TAIL_CHUNK);
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - TAIL_CHUNK);
    const chunk = buf.subarray(0, end - start);
    await file.seek(start, Deno.SeekMode.Start);
    let got = 0;
    while (got < chunk.length) {
      const n = await file.read(chunk.subarray(got));
      if (n === null) break;
      got += n;
    }
    const at = chunk.subarray(0, got).lastIndexOf(NL);
    if (at >= 0) return start + at + 1;
    end = start;
  }
  return 0;
}

/** Whether `path` exists (a broken symlink counts). */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw ioError(err, `cannot check ${path}`);
  }
}
