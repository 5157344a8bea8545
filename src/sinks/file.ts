/**
 * The file sink, the agent's embedded default output: rotating NDJSON files, one record per
 * line, or Parquet files (`format "parquet"`). The open file is hidden
 * (`.<prefix>-<stamp>-<seq>.<format>.part`, NDJSON lines either way); on rotation (size or
 * age) and on close it is fsynced and renamed to `<prefix>-<stamp>-<seq>.ndjson` — or converted
 * to `<prefix>-<stamp>-<seq>.parquet` (`_file_parquet.ts`) — so a reader globbing `*.ndjson` or
 * `*.parquet` never sees a partial line or a partial file. Leftover part files of a crashed run
 * are cut to their last complete line and published on open.
 * Pipeline worker. Never retries or sleeps (the runner does); never writes a batch id twice.
 * @module
 */

import type { FileSinkOptions, SinkConfig } from "../config/types.ts";
import { type Sink, type SinkBatch, type SinkDeps, SinkError } from "./contract.ts";
import { encodeNdjson } from "./ndjson.ts";
import { parseFileSinkOptions } from "./_file_options.ts";
import {
  fileStamp,
  partBase,
  partName,
  publish,
  type Publisher,
  recoverPart,
  recoverParts,
} from "./_file_publish.ts";
import { parquetPublisher, recoverConversions } from "./_file_parquet.ts";
import { ioError } from "./_io_error.ts";
import { RecentIds } from "./_recent_ids.ts";

export { FILE_SINK_DEFAULTS, parseFileSinkOptions } from "./_file_options.ts";

/**
 * Create a file sink from its config section (`cfg.options` is parsed here).
 *
 * @example
 * ```ts
 * const sink = createFileSink(cfg, { log });
 * await sink.open();
 * await sink.write({ id: batchId, records });
 * await sink.close(); // the last file is now published
 * ```
 */
export function createFileSink(cfg: SinkConfig, deps: SinkDeps): Sink {
  return new FileSink(cfg.name, parseFileSinkOptions(cfg.options), deps);
}

/** A part file that could not be published in place; recovered on the next rotation. */
interface Orphan {
  part: string;
  /** Bytes known to be whole lines, when known. */
  size?: number;
}

class FileSink implements Sink {
  readonly name: string;
  #opts: FileSinkOptions;
  #format: "ndjson" | "parquet";
  #deps: SinkDeps;
  #parquet: Publisher;
  #file: Deno.FsFile | null = null;
  #part = "";
  #bytes = 0;
  #openedAt = 0;
  #seq = 0;
  #ageTimer: ReturnType<typeof setTimeout> | undefined;
  #chain: Promise<unknown> = Promise.resolve();
  #recent = new RecentIds();
  #orphans: Orphan[] = [];
  #closed = false;

  constructor(name: string, opts: FileSinkOptions, deps: SinkDeps) {
    this.name = name;
    this.#opts = opts;
    this.#deps = deps;
    this.#format = opts.format ?? "ndjson";
    const codec = opts.compression === "none"
      ? "UNCOMPRESSED"
      : opts.compression === "gzip"
      ? "GZIP"
      : "SNAPPY";
    this.#parquet = parquetPublisher({
      rowGroupSize: opts.rowGroupSize ?? 10_000,
      codec,
      onReport: (report, file) =>
        deps.log("warn", "file sink left out fields the schema does not describe", {
          sink: name,
          file,
          unknown: [...report.unknown].slice(0, 20),
          mismatched: [...report.mismatched].slice(0, 20),
        }),
    });
  }

  open(): Promise<void> {
    return this.#serialize(async () => {
      const dir = this.#opts.directory;
      await ensureDirectory(dir);
      const converted = await recoverConversions(dir, this.#opts.prefix);
      const report = { ...await recoverParts(dir, this.#opts.prefix, this.#parquet) };
      report.published += converted;
      if (report.published + report.deleted > 0) {
        this.#deps.log("warn", "file sink recovered files left by an earlier run", {
          sink: this.name,
          directory: dir,
          ...report,
        });
      }
      await this.#openPart();
    });
  }

  write(batch: SinkBatch): Promise<number> {
    return this.#serialize(() => this.#write(batch));
  }

  close(): Promise<void> {
    return this.#serialize(async () => {
      this.#closed = true;
      await this.#finalize();
    });
  }

  async #write(batch: SinkBatch): Promise<number> {
    if (this.#closed) {
      throw new SinkError(`file sink ${this.name} is closed`, {
        code: "sink_unavailable",
        retryable: false,
      });
    }
    if (this.#recent.has(batch.id)) return 0;
    const bytes = encodeNdjson(batch);
    if (bytes.length === 0) return 0;
    if (this.#file !== null && performance.now() - this.#openedAt >= this.#opts.maxAgeMs) {
      await this.#finalize();
    }
    const file = this.#file ?? await this.#openPart();
    const before = this.#bytes;
    try {
      await writeAll(file, bytes);
    } catch (err) {
      await this.#rollback(file, before);
      throw ioError(err, `cannot write ${this.#opts.directory}/${this.#part}`);
    }
    this.#bytes += bytes.length;
    this.#recent.add(batch.id);
    if (this.#bytes >= this.#opts.maxBytes) await this.#finalize();
    return bytes.length;
  }

  /** Create the next hidden part file; its age timer starts now. */
  async #openPart(): Promise<Deno.FsFile> {
    const dir = this.#opts.directory;
    await makeDirectory(dir);
    for (let attempt = 0;; attempt++) {
      const stamp = fileStamp(new Date());
      const part = partName(this.#opts.prefix, stamp, ++this.#seq, this.#format);
      try {
        const file = await Deno.open(`${dir}/${part}`, { createNew: true, append: true });
        this.#file = file;
        this.#part = part;
        this.#bytes = 0;
        this.#openedAt = performance.now();
        this.#ageTimer = setTimeout(() => this.#onAgeTimer(part), this.#opts.maxAgeMs);
        return file;
      } catch (err) {
        if (err instanceof Deno.errors.AlreadyExists && attempt < 100) continue;
        throw ioError(err, `cannot create ${dir}/${part}`);
      }
    }
  }

  #onAgeTimer(part: string): void {
    this.#serialize(async () => {
      if (this.#file !== null && this.#part === part) await this.#finalize();
    }).catch((err: unknown) => {
      this.#deps.log("error", "file sink could not rotate an old file", {
        sink: this.name,
        error: String(err),
      });
    });
  }

  /** Fsync, close and publish the open file (delete it when empty); then retry orphans. */
  async #finalize(): Promise<void> {
    clearTimeout(this.#ageTimer);
    const file = this.#file;
    const part = this.#part;
    const size = this.#bytes;
    this.#file = null;
    this.#bytes = 0;
    if (file !== null) {
      try {
        if (size > 0) await file.sync();
        file.close();
        if (size > 0) await this.#publisherFor(part)(this.#opts.directory, part);
        else await Deno.remove(`${this.#opts.directory}/${part}`);
      } catch (err) {
        closeQuietly(file);
        this.#orphans.push({ part, size });
        throw err instanceof SinkError ? err : ioError(err, `cannot finish ${part}`);
      }
    }
    await this.#recoverOrphans();
  }

  /** After a failed write, cut the file back to its last whole batch, or give it up. */
  async #rollback(file: Deno.FsFile, size: number): Promise<void> {
    try {
      await file.truncate(size);
    } catch (err) {
      this.#deps.log("error", "file sink could not undo a torn write; starting a new file", {
        sink: this.name,
        file: this.#part,
        error: String(err),
      });
      clearTimeout(this.#ageTimer);
      closeQuietly(file);
      this.#orphans.push({ part: this.#part, size });
      this.#file = null;
      this.#bytes = 0;
    }
  }

  async #recoverOrphans(): Promise<void> {
    while (this.#orphans.length > 0) {
      const { part, size } = this.#orphans[0];
      const publisher = this.#publisherFor(part);
      const { cutBytes, published } = await recoverPart(
        this.#opts.directory,
        part,
        size,
        publisher,
      );
      this.#orphans.shift();
      this.#deps.log("warn", "file sink recovered a file it could not finish earlier", {
        sink: this.name,
        file: part,
        published,
        cut_bytes: cutBytes,
      });
    }
  }

  #publisherFor(part: string): Publisher {
    return partBase(part).format === "parquet" ? this.#parquet : publish;
  }

  #serialize<T>(op: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(op);
    // The chain only orders operations; each caller gets its own outcome through `run`.
    this.#chain = run.then(() => undefined, () => undefined);
    return run;
  }
}

/** Create `dir` if missing; a path that exists but is not a directory is a fatal error. */
async function ensureDirectory(dir: string): Promise<void> {
  await makeDirectory(dir);
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir);
  } catch (err) {
    throw ioError(err, `cannot read directory ${dir}`);
  }
  if (!info.isDirectory) {
    throw new SinkError(
      `file sink directory ${dir} exists but is not a directory; set \`directory\` to a directory path`,
      {
        code: "sink_io",
        retryable: false,
      },
    );
  }
}

/** `mkdir -p`; an existing path is left for the caller (or the next open) to judge. */
async function makeDirectory(dir: string): Promise<void> {
  try {
    await Deno.mkdir(dir, { recursive: true });
  } catch (err) {
    if (!(err instanceof Deno.errors.AlreadyExists)) {
      throw ioError(err, `cannot create directory ${dir}`);
    }
  }
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) {
    const n = await file.write(bytes.subarray(off));
    if (n <= 0) throw new Deno.errors.WriteZero("write returned 0 bytes");
    off += n;
  }
}

function closeQuietly(file: Deno.FsFile): void {
  try {
    file.close();
  } catch (err) {
    // Already closed (BadResource) is expected here; anything else is reported.
    if (!(err instanceof Deno.errors.BadResource)) console.error("file sink close failed", err);
  }
}
