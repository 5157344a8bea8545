/**
 * Parquet output of the file sink. While a file is open its records are journalled as NDJSON
 * lines in the hidden part file (`.<base>.parquet.part`), so a batch is on disk as soon as its
 * write returns, torn writes are cut back, and a crash loses nothing the OS kept. Publishing
 * converts the journal, one row group at a time, into `.<base>.parquet.tmp`, fsyncs it, renames
 * the journal to `.<base>.parquet.done` (the commit point), renames the tmp file to
 * `<base>.parquet` and deletes the `.done` journal. `recoverConversions` finishes or undoes a
 * conversion a crash interrupted, so every journal becomes exactly one Parquet file.
 * Pipeline worker. Memory holds one row group of records at a time.
 * @module
 */

import type { TelemetryRecord } from "../record/schema.ts";
import { type ParquetCodec, ParquetStreamWriter, type ShapeReport } from "./parquet.ts";
import { exists, partBase, type Publisher, renameUnique } from "./_file_publish.ts";
import { ioError } from "./_io_error.ts";
import { newShapeReport } from "./_record_shape.ts";

const READ_CHUNK = 1024 * 1024;

export interface ParquetFileOptions {
  rowGroupSize: number;
  codec: ParquetCodec;
  /** Called after each conversion with the fields it could not write. */
  onReport?: (report: ShapeReport, file: string) => void;
}

/**
 * A `Publisher` that converts a whole NDJSON journal into a published Parquet file.
 *
 * @example
 * ```ts
 * const publishParquet = parquetPublisher({ rowGroupSize: 10_000, codec: "SNAPPY" });
 * const name = await publishParquet(dir, ".telemetry-20260301T120000000Z-000001.parquet.part");
 * ```
 */
export function parquetPublisher(opts: ParquetFileOptions): Publisher {
  return async (dir, part) => {
    const { base } = partBase(part);
    const tmp = `.${base}.parquet.tmp`;
    const done = `.${base}.parquet.done`;
    const report = await convertJournal(`${dir}/${part}`, `${dir}/${tmp}`, opts);
    await rename(dir, part, done);
    const name = await renameUnique(dir, tmp, base, "parquet");
    await remove(`${dir}/${done}`);
    if (report.mismatched.size + report.unknown.size > 0) opts.onReport?.(report, name);
    return name;
  };
}

/**
 * Finish conversions a crash interrupted: a `.done` journal whose tmp file still exists gets
 * the tmp file published; a `.done` journal is then deleted; a tmp file without a `.done`
 * journal is deleted (its `.part` journal is still there and is converted again).
 * Resolves to the number of files published.
 */
export async function recoverConversions(dir: string, prefix: string): Promise<number> {
  const p = prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const re = new RegExp(`^\\.(${p}-\\d{8}T\\d{9}Z-\\d+)\\.parquet\\.(done|tmp)$`);
  const found: { base: string; kind: string }[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      const m = re.exec(e.name);
      if (e.isFile && m) found.push({ base: m[1], kind: m[2] });
    }
  } catch (err) {
    throw ioError(err, `cannot list ${dir}`);
  }
  let published = 0;
  for (const { base, kind } of found.sort((a, b) => a.base.localeCompare(b.base))) {
    const tmp = `.${base}.parquet.tmp`;
    const done = `.${base}.parquet.done`;
    if (kind === "done") {
      if (await exists(`${dir}/${tmp}`)) {
        await renameUnique(dir, tmp, base, "parquet");
        published++;
      }
      await remove(`${dir}/${done}`);
    } else if (!(await exists(`${dir}/${done}`))) {
      await remove(`${dir}/${tmp}`);
    }
  }
  return published;
}

/** Read the journal at `from` line by line and write it as Parquet to `to` (fsynced). */
async function convertJournal(
  from: string,
  to: string,
  opts: ParquetFileOptions,
): Promise<ShapeReport> {
  const report = newShapeReport();
  let out: Deno.FsFile;
  try {
    out = await Deno.open(to, { write: true, create: true, truncate: true });
  } catch (err) {
    throw ioError(err, `cannot create ${to}`);
  }
  try {
    const pending: Uint8Array[] = [];
    const writer = new ParquetStreamWriter((b) => pending.push(b.slice()), { codec: opts.codec });
    for await (const rows of readRowGroups(from, opts.rowGroupSize)) {
      writer.writeRowGroup(rows, report);
      await writeChunks(out, pending.splice(0));
    }
    writer.finish();
    await writeChunks(out, pending.splice(0));
    await out.sync();
  } catch (err) {
    throw ioError(err, `cannot convert ${from} to Parquet`);
  } finally {
    out.close();
  }
  return report;
}

/** The journal's records, `size` at a time. */
async function* readRowGroups(path: string, size: number): AsyncGenerator<TelemetryRecord[]> {
  using file = await Deno.open(path, { read: true });
  const decoder = new TextDecoder();
  const buf = new Uint8Array(READ_CHUNK);
  let rest = "";
  let rows: TelemetryRecord[] = [];
  for (;;) {
    const n = await file.read(buf);
    if (n === null) break;
    const lines = (rest + decoder.decode(buf.subarray(0, n), { stream: true })).split("\n");
    rest = lines.pop()!;
    for (const line of lines) {
      if (line === "") continue;
      rows.push(JSON.parse(line));
      if (rows.length >= size) {
        yield rows;
        rows = [];
      }
    }
  }
  rest += decoder.decode();
  if (rest.trim() !== "") rows.push(JSON.parse(rest));
  if (rows.length > 0) yield rows;
}

async function writeChunks(file: Deno.FsFile, chunks: Uint8Array[]): Promise<void> {
  for (const c of chunks) {
    let off = 0;
    while (off < c.length) off += await file.write(c.subarray(off));
  }
}

async function rename(dir: string, from: string, to: string): Promise<void> {
  try {
    await Deno.rename(`${dir}/${from}`, `${dir}/${to}`);
  } catch (err) {
    throw ioError(err, `cannot rename ${dir}/${from} to ${to}`);
  }
}

async function remove(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw ioError(err, `cannot delete ${path}`);
  }
}
