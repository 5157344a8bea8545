/**
 * The few S3 calls the sink makes — PutObject and multipart upload (create, upload part,
 * complete, abort) — signed with SigV4 by `aws4fetch`, path-style or virtual-hosted.
 * Pipeline worker. Never retries (aws4fetch's own `fetch` retries, so only its `sign` is used);
 * every failure is a `SinkError`: retryable for 5xx, 429, throttling and transient S3 codes.
 * @module
 */

import { AwsClient } from "aws4fetch";
import { SinkError } from "../contract.ts";
import {
  exchange,
  type HttpReply,
  isRetryableStatus,
  parseRetryAfter,
  quote,
} from "../_http_fetch.ts";
import type { AwsCredentials } from "./credentials.ts";

/** S3 error codes worth retrying even under a 4xx status. */
const RETRYABLE_CODES = new Set([
  "RequestTimeout",
  "SlowDown",
  "InternalError",
  "ServiceUnavailable",
  "OperationAborted",
  "NoSuchUpload",
  "InvalidPart",
  "RequestTimeTooSkewed",
]);

export interface S3Target {
  endpoint: string;
  bucket: string;
  region: string;
  pathStyle: boolean;
  timeoutMs: number;
}

/** Headers stored with an object. */
export interface ObjectMeta {
  contentType: string;
  contentEncoding?: string;
  metadata: Record<string, string>;
}

/**
 * An S3 client for one bucket.
 *
 * @example
 * ```ts
 * const s3 = new S3Client(target, await resolveCredentials(source));
 * await s3.putObject("telemetry/dt=2026-03-01/hour=12/x.ndjson.gz", bytes, meta);
 * ```
 */
export class S3Client {
  readonly #aws: AwsClient;
  readonly #t: S3Target;

  constructor(target: S3Target, creds: AwsCredentials) {
    this.#t = target;
    this.#aws = new AwsClient({ ...creds, service: "s3", region: target.region, retries: 0 });
  }

  /** Upload `body` as `key` in one request. */
  async putObject(key: string, body: Uint8Array, meta: ObjectMeta): Promise<void> {
    await this.#call("PUT", key, "", body, metaHeaders(meta), `put ${key}`);
  }

  /** Start a multipart upload; resolves to its upload id. */
  async createMultipart(key: string, meta: ObjectMeta): Promise<string> {
    const reply = await this.#call(
      "POST",
      key,
      "uploads=",
      undefined,
      metaHeaders(meta),
      `start ${key}`,
    );
    const id = xmlValue(reply.body, "UploadId");
    if (id === undefined) throw badReply(`start ${key}`, reply);
    return id;
  }

  /** Upload part `n` (from 1); resolves to its ETag. */
  async uploadPart(key: string, uploadId: string, n: number, body: Uint8Array): Promise<string> {
    const query = `partNumber=${n}&uploadId=${encodeURIComponent(uploadId)}`;
    const reply = await this.#call("PUT", key, query, body, {}, `part ${n} of ${key}`);
    const etag = reply.headers.get("etag");
    if (etag === null) throw badReply(`part ${n} of ${key}`, reply);
    return etag;
  }

  /** Finish a multipart upload; the object appears only now. */
  async completeMultipart(key: string, uploadId: string, etags: string[]): Promise<void> {
    const parts = etags.map((e, i) =>
      `<Part><PartNumber>${i + 1}</PartNumber><ETag>${escapeXml(e)}</ETag></Part>`
    ).join("");
    const xml = `<CompleteMultipartUpload>${parts}</CompleteMultipartUpload>`;
    const query = `uploadId=${encodeURIComponent(uploadId)}`;
    const body = new TextEncoder().encode(xml);
    const reply = await this.#call(
      "POST",
      key,
      query,
      body,
      { "content-type": "application/xml" },
      `complete ${key}`,
    );
    // S3 may answer 200 and still report an error in the body.
    if (/<Error>/.test(reply.body)) throw s3Error(`complete ${key}`, { ...reply, status: 500 });
  }

  /** Abandon a multipart upload so its parts are not stored (and billed). */
  async abortMultipart(key: string, uploadId: string): Promise<void> {
    const query = `uploadId=${encodeURIComponent(uploadId)}`;
    await this.#call("DELETE", key, query, undefined, {}, `abort ${key}`);
  }

  async #call(
    method: string,
    key: string,
    query: string,
    body: Uint8Array | undefined,
    headers: Record<string, string>,
    what: string,
  ): Promise<HttpReply> {
    const url = this.#url(key, query);
    let signed: Request;
    try {
      signed = await this.#aws.sign(url, { method, headers, body: body as BodyInit | undefined });
    } catch (err) {
      throw new SinkError(`s3 sink: cannot sign ${what}: ${(err as Error).message}`, {
        code: "sink_config",
        retryable: false,
        cause: err,
      });
    }
    const reply = await exchange(signed, this.#t.timeoutMs, `s3 sink ${what}`);
    if (reply.status < 200 || reply.status >= 300) throw s3Error(what, reply);
    return reply;
  }

  #url(key: string, query: string): string {
    const path = key.split("/").map(encodeURIComponent).join("/");
    const base = new URL(this.#t.endpoint);
    const q = query ? `?${query}` : "";
    if (this.#t.pathStyle) {
      const root = base.pathname.replace(/\/+$/, "");
      return `${base.protocol}//${base.host}${root}/${this.#t.bucket}/${path}${q}`;
    }
    return `${base.protocol}//${this.#t.bucket}.${base.host}/${path}${q}`;
  }
}

/** A failed S3 reply as a `SinkError`, judged by status and the XML `<Code>`. */
export function s3Error(what: string, reply: HttpReply): SinkError {
  const code = xmlValue(reply.body, "Code");
  const message = xmlValue(reply.body, "Message") ?? quote(reply.body);
  const retryable = isRetryableStatus(reply.status) ||
    (code !== undefined && RETRYABLE_CODES.has(code));
  const hint = code === "NoSuchBucket"
    ? " (create the bucket, or fix `bucket`)"
    : code === "InvalidAccessKeyId" || code === "SignatureDoesNotMatch"
    ? " (check the credentials and `region`)"
    : "";
  return new SinkError(`s3 sink: ${what}: HTTP ${reply.status} ${code ?? ""} ${message}${hint}`, {
    code: retryable ? "sink_unavailable" : "sink_backend_rejected",
    retryable,
    retryAfterMs: retryable ? parseRetryAfter(reply.headers.get("retry-after")) : undefined,
  });
}

function badReply(what: string, reply: HttpReply): SinkError {
  return new SinkError(`s3 sink: ${what}: unexpected reply: ${quote(reply.body)}`, {
    code: "sink_unavailable",
    retryable: true,
  });
}

function metaHeaders(meta: ObjectMeta): Record<string, string> {
  const h: Record<string, string> = { "content-type": meta.contentType };
  if (meta.contentEncoding) h["content-encoding"] = meta.contentEncoding;
  for (const [k, v] of Object.entries(meta.metadata)) h[`x-amz-meta-${k}`] = v;
  return h;
}

/** The text of the first `<tag>` in `xml`, unescaped. */
function xmlValue(xml: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml);
  return m ? unescapeXml(m[1]) : undefined;
}

function unescapeXml(s: string): string {
  return s.replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}
