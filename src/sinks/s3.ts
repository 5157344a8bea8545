/**
 * The S3 sink (any S3-compatible store): each batch becomes one object per Hive-style hour
 * partition (`<prefix>dt=YYYY-MM-DD/hour=HH/<batch id>.ndjson.gz`, or `.ndjson`, `.parquet`),
 * split by `max-object-bytes`, sent by multipart upload from `multipart-threshold-bytes` on.
 * Keys come from the batch id, so a retry rewrites the same objects: nothing is duplicated.
 * Objects are rolled by the runner's `batch-size` (count) and `flush-interval-ms` (time) and by
 * `max-object-bytes` (size). Read the layout and options in docs/sinks-s3.md.
 * Pipeline worker. Never retries or sleeps; objects already stored by an earlier attempt of the
 * same batch are not sent again.
 * @module
 */

import type { SinkConfig } from "../config/types.ts";
import type { TelemetryRecord } from "../record/schema.ts";
import { type Sink, type SinkBatch, type SinkDeps, SinkError } from "./contract.ts";
import { recordJson } from "./ndjson.ts";
import { encodeParquet } from "./parquet.ts";
import { gzip } from "./_gzip.ts";
import { newShapeReport, type ShapeReport } from "./_record_shape.ts";
import { RecentIds } from "./_recent_ids.ts";
import { type ObjectMeta, S3Client } from "./s3/client.ts";
import { resolveCredentials } from "./s3/credentials.ts";
import { groupObjects } from "./s3/keys.ts";
import { parseS3SinkOptions, type S3SinkOptions } from "./s3/options.ts";

export { parseS3SinkOptions, s3EnvVars, s3Files, s3Hosts } from "./s3/options.ts";
export type { S3SinkOptions } from "./s3/options.ts";

/** Batches whose partial progress (objects already stored) is remembered for their retry. */
const MAX_TRACKED_BATCHES = 256;
/** Parts of one multipart upload sent at once. */
const PART_CONCURRENCY = 4;

/** One object of a batch, encoded. */
interface PlannedObject {
  key: string;
  body: Uint8Array;
  meta: ObjectMeta;
}

/**
 * Create an S3 sink from its config section. Credentials are resolved when it opens.
 *
 * @example
 * ```ts
 * const sink = createS3Sink(cfg, { log });
 * await sink.open();
 * await sink.write({ id: batchId, records }); // objects under dt=…/hour=…/<batchId>…
 * ```
 */
export function createS3Sink(cfg: SinkConfig, deps: SinkDeps): Sink {
  return new S3Sink(cfg.name, parseS3SinkOptions(cfg.options), deps);
}

class S3Sink implements Sink {
  readonly name: string;
  readonly #o: S3SinkOptions;
  readonly #deps: SinkDeps;
  #client: S3Client | undefined;
  readonly #plans = new WeakMap<SinkBatch, Promise<PlannedObject[]>>();
  /** Keys stored per batch id, for batches not finished yet. */
  readonly #progress = new Map<string, Set<string>>();
  readonly #recent = new RecentIds();
  readonly #reported = new Set<string>();

  constructor(name: string, opts: S3SinkOptions, deps: SinkDeps) {
    this.name = name;
    this.#o = opts;
    this.#deps = deps;
  }

  async open(): Promise<void> {
    const creds = await resolveCredentials(this.#o.credentials);
    this.#client = new S3Client(this.#o, creds);
  }

  async write(batch: SinkBatch): Promise<number> {
    const client = this.#client;
    if (client === undefined) {
      throw new SinkError(`s3 sink ${this.name} is not open`, {
        code: "sink_unavailable",
        retryable: false,
      });
    }
    if (this.#recent.has(batch.id) || batch.records.length === 0) return 0;
    const objects = await this.#plan(batch);
    const done = this.#tracked(batch.id);
    let bytes = 0;
    for (const obj of objects) {
      if (done.has(obj.key)) continue;
      await this.#upload(client, obj);
      done.add(obj.key);
      bytes += obj.body.length;
    }
    this.#progress.delete(batch.id);
    this.#recent.add(batch.id);
    return bytes;
  }

  close(): Promise<void> {
    this.#client = undefined;
    return Promise.resolve();
  }

  #plan(batch: SinkBatch): Promise<PlannedObject[]> {
    let p = this.#plans.get(batch);
    if (p === undefined) {
      const report = newShapeReport();
      p = planObjects(batch, this.#o, report);
      p.then(() => this.#logShape(report), () => {});
      this.#plans.set(batch, p);
      p.catch(() => this.#plans.delete(batch));
    }
    return p;
  }

  /** Log each field Parquet could not take, once per field for the sink's life. */
  #logShape(report: ShapeReport): void {
    const fresh = [...report.unknown, ...report.mismatched].filter((f) => !this.#reported.has(f));
    if (fresh.length === 0) return;
    for (const f of fresh) this.#reported.add(f);
    this.#deps.log("warn", "s3 sink left out fields the Parquet schema does not take", {
      sink: this.name,
      fields: fresh.slice(0, 20),
    });
  }

  #tracked(batchId: string): Set<string> {
    let done = this.#progress.get(batchId);
    if (done === undefined) {
      done = new Set();
      this.#progress.set(batchId, done);
      if (this.#progress.size > MAX_TRACKED_BATCHES) {
        this.#progress.delete(this.#progress.keys().next().value!);
      }
    }
    return done;
  }

  async #upload(client: S3Client, obj: PlannedObject): Promise<void> {
    if (obj.body.length < this.#o.multipartThresholdBytes) {
      return await client.putObject(obj.key, obj.body, obj.meta);
    }
    const uploadId = await client.createMultipart(obj.key, obj.meta);
    try {
      const etags = await uploadParts(client, obj, uploadId, this.#o.partSizeBytes);
      await client.completeMultipart(obj.key, uploadId, etags);
    } catch (err) {
      await client.abortMultipart(obj.key, uploadId).catch((abortErr: unknown) => {
        this.#deps.log("warn", "s3 sink could not abort a failed multipart upload", {
          sink: this.name,
          key: obj.key,
          error: String(abortErr),
        });
      });
      throw err;
    }
  }
}

/** Upload `obj.body` in parts of `partSize`, a few at a time; ETags in part order. */
async function uploadParts(
  client: S3Client,
  obj: PlannedObject,
  uploadId: string,
  partSize: number,
): Promise<string[]> {
  const count = Math.ceil(obj.body.length / partSize);
  const etags: string[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const part = obj.body.subarray(i * partSize, Math.min(obj.body.length, (i + 1) * partSize));
      etags[i] = await client.uploadPart(obj.key, uploadId, i + 1, part);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PART_CONCURRENCY, count) }, worker));
  return etags;
}

/** Encode a batch into its objects (keys, bodies, metadata). */
async function planObjects(
  batch: SinkBatch,
  o: S3SinkOptions,
  report: ShapeReport,
): Promise<PlannedObject[]> {
  const lines = new Map<TelemetryRecord, string>();
  for (const r of batch.records) lines.set(r, recordJson(r) + "\n");
  const groups = groupObjects(
    o.prefix,
    batch.id,
    batch.records,
    o.maxObjectBytes,
    (r) => lines.get(r)!.length,
  );
  const out: PlannedObject[] = [];
  for (const g of groups) {
    const metadata = {
      "telemetry-batch-id": batch.id,
      "telemetry-records": String(g.records.length),
    };
    if (o.format === "parquet") {
      const codec = PARQUET_CODECS[o.compression];
      const body = encodeParquet(g.records, { rowGroupSize: o.rowGroupSize, codec }, report);
      const meta = { contentType: "application/vnd.apache.parquet", metadata };
      out.push({ key: `${g.stem}.parquet`, body, meta });
      continue;
    }
    let text = "";
    for (const r of g.records) text += lines.get(r)!;
    const raw = new TextEncoder().encode(text);
    if (o.compression === "gzip") {
      const meta = { contentType: "application/x-ndjson", contentEncoding: "gzip", metadata };
      out.push({ key: `${g.stem}.ndjson.gz`, body: await gzip(raw), meta });
    } else {
      const meta = { contentType: "application/x-ndjson", metadata };
      out.push({ key: `${g.stem}.ndjson`, body: raw, meta });
    }
  }
  return out;
}

const PARQUET_CODECS = { snappy: "SNAPPY", gzip: "GZIP", none: "UNCOMPRESSED" } as const;
