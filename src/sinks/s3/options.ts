/**
 * The S3 sink's options: kebab-case keys as written in KDL, their defaults and checks, and the
 * hosts, environment variables and files they make the agent reach (for `permissions.ts`).
 * Pipeline worker (at start-up) and the permission derivation. Pure: reads nothing.
 * @module
 */

import { httpUrl, OptionReader } from "../_options.ts";

const MIB = 1024 * 1024;
/** S3's smallest part (every part but the last). */
export const MIN_PART_BYTES = 5 * MIB;
/** S3's largest part. */
const MAX_PART_BYTES = 5 * 1024 * MIB;
/** Environment variables read when the config holds no keys. */
export const AWS_ENV_VARS = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"];
const PREFIX_RE = /^[A-Za-z0-9!_.*'()\/=-]*$/;
const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const REGION_RE = /^[a-z0-9-]+$/;

/** Where the keys come from: the config, the environment, or a shared credentials file. */
export type CredentialSource =
  | { kind: "config"; accessKeyId: string; secretAccessKey: string; sessionToken?: string }
  | { kind: "env" }
  | { kind: "file"; path: string; profile: string };

export interface S3SinkOptions {
  bucket: string;
  region: string;
  /** Base URL without the bucket, e.g. `https://s3.eu-west-1.amazonaws.com`. */
  endpoint: string;
  /** `https://endpoint/bucket/key` instead of `https://bucket.endpoint/key`. */
  pathStyle: boolean;
  /** Key prefix, empty or ending in `/`. */
  prefix: string;
  format: "ndjson" | "parquet";
  /** NDJSON: `gzip` or `none`; Parquet: the column codec `snappy`, `gzip` or `none`. */
  compression: "gzip" | "none" | "snappy";
  /** Parquet rows per row group. */
  rowGroupSize: number;
  /** A batch's records of one hour are split into objects of at most this many NDJSON bytes. */
  maxObjectBytes: number;
  /** Objects at least this large are sent by multipart upload. */
  multipartThresholdBytes: number;
  partSizeBytes: number;
  timeoutMs: number;
  credentials: CredentialSource;
}

/**
 * Parse the S3 sink's options. Throws `SinkError` (`sink_config`) listing every problem.
 *
 * @example
 * ```ts
 * parseS3SinkOptions({ bucket: "logs", endpoint: "http://127.0.0.1:8333", "path-style": true });
 * ```
 */
export function parseS3SinkOptions(options: Record<string, unknown>): S3SinkOptions {
  const r = new OptionReader("s3 sink", options);
  const region = r.string("region", { rule: matches(REGION_RE, "an AWS region name") }) ??
    "us-east-1";
  const format = r.choice("format", ["ndjson", "parquet"] as const);
  const compression = format === "ndjson"
    ? r.choice("compression", ["gzip", "none"] as const)
    : r.choice("compression", ["snappy", "gzip", "none"] as const);
  const o: S3SinkOptions = {
    bucket: r.string("bucket", { required: true, rule: matches(BUCKET_RE, "a bucket name") }),
    region,
    endpoint: (r.string("endpoint", { rule: httpUrl }) ?? `https://s3.${region}.amazonaws.com`)
      .replace(/\/+$/, ""),
    pathStyle: r.bool("path-style", false),
    prefix: normalizePrefix(r.string("prefix", { rule: matches(PREFIX_RE, "a key prefix") })),
    format,
    compression,
    rowGroupSize: r.int("row-group-size", 10_000, { min: 1, max: 1_000_000 }),
    maxObjectBytes: r.int("max-object-bytes", 256 * MIB, { min: 1024 }),
    multipartThresholdBytes: r.int("multipart-threshold-bytes", 16 * MIB, {
      min: MIN_PART_BYTES,
    }),
    partSizeBytes: r.int("part-size-bytes", 8 * MIB, { min: MIN_PART_BYTES, max: MAX_PART_BYTES }),
    timeoutMs: r.int("timeout-ms", 60_000, { min: 1, max: 3_600_000 }),
    credentials: credentialSource(r),
  };
  r.finish();
  return o;
}

/** `host[:port]` names the sink connects to, for `--allow-net`. */
export function s3Hosts(options: Record<string, unknown>): string[] {
  const region = typeof options.region === "string" ? options.region : "us-east-1";
  const endpoint = typeof options.endpoint === "string"
    ? options.endpoint
    : `https://s3.${region}.amazonaws.com`;
  let host: string;
  try {
    const u = new URL(endpoint);
    host = `${u.hostname}:${u.port || (u.protocol === "https:" ? "443" : "80")}`;
  } catch {
    return [];
  }
  const bucket = typeof options.bucket === "string" ? options.bucket : "";
  return options["path-style"] === true || bucket === "" ? [host] : [`${bucket}.${host}`];
}

/** Environment variables the sink reads, for `--allow-env`. */
export function s3EnvVars(options: Record<string, unknown>): string[] {
  const inConfig = options["access-key-id"] !== undefined ||
    options["credentials-file"] !== undefined;
  return inConfig ? [] : AWS_ENV_VARS;
}

/** Files the sink reads, for `--allow-read`. */
export function s3Files(options: Record<string, unknown>): string[] {
  const f = options["credentials-file"];
  return typeof f === "string" ? [f] : [];
}

function credentialSource(r: OptionReader): CredentialSource {
  const accessKeyId = r.string("access-key-id");
  const secretAccessKey = r.string("secret-access-key");
  const sessionToken = r.string("session-token");
  const path = r.string("credentials-file");
  const profile = r.string("profile") ?? "default";
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    r.problem("set both `access-key-id` and `secret-access-key`, or neither");
  }
  if (accessKeyId !== undefined && path !== undefined) {
    r.problem("set keys in the config or `credentials-file`, not both");
  }
  if (sessionToken !== undefined && accessKeyId === undefined) {
    r.problem("`session-token` needs `access-key-id` and `secret-access-key`");
  }
  if (accessKeyId !== undefined && secretAccessKey !== undefined) {
    return { kind: "config", accessKeyId, secretAccessKey, sessionToken };
  }
  return path !== undefined ? { kind: "file", path, profile } : { kind: "env" };
}

function normalizePrefix(prefix: string | undefined): string {
  const p = (prefix ?? "telemetry/").replace(/^\/+/, "");
  return p === "" || p.endsWith("/") ? p : `${p}/`;
}

function matches(re: RegExp, what: string) {
  return (v: string) => re.test(v) ? undefined : `must be ${what}`;
}
