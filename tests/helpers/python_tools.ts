/**
 * Independent readers for the sink tests: a Python virtualenv under `.cache/pyenv` with pyarrow
 * (Parquet) and boto3 (S3), installed from PyPI on first use (idempotent; ~10 s warm pip cache,
 * ~40 s cold) and failing loudly when it cannot be made. Test-only helper.
 * @module
 */

const ROOT = new URL("../../", import.meta.url).pathname;
const VENV = `${ROOT}.cache/pyenv`;
const PYTHON = `${VENV}/bin/python`;
const PACKAGES = ["pyarrow==26.0.1", "boto3==1.44.5"];

let ready: Promise<string> | undefined;

/**
 * The venv's python, with pyarrow and boto3 importable.
 *
 * @example
 * ```ts
 * const out = await runPython(`import pyarrow; print(pyarrow.__version__)`);
 * ```
 */
export function pythonWithTools(): Promise<string> {
  ready ??= makeVenv();
  return ready;
}

/** Run `code` with the venv's python; `args` become `sys.argv[1:]`; resolves to stdout. */
export async function runPython(
  code: string,
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<string> {
  const python = await pythonWithTools();
  const out = await new Deno.Command(python, {
    args: ["-c", code, ...args],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`python failed (${out.code}):\n${new TextDecoder().decode(out.stderr)}`);
  }
  return text;
}

async function makeVenv(): Promise<string> {
  if (await importable()) return PYTHON;
  const python3 = Deno.env.get("PYTHON3") ?? "python3";
  await run(python3, ["-m", "venv", VENV], "create the virtualenv");
  await run(
    PYTHON,
    ["-m", "pip", "install", "-q", ...PACKAGES],
    `pip install ${PACKAGES.join(" ")}`,
  );
  if (!(await importable())) throw new Error(`pyarrow/boto3 still not importable from ${PYTHON}`);
  return PYTHON;
}

async function importable(): Promise<boolean> {
  try {
    const out = await new Deno.Command(PYTHON, {
      args: ["-c", "import pyarrow, boto3"],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

async function run(cmd: string, args: string[], what: string): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr);
    throw new Error(`Cannot ${what} for the sink tests (${cmd} exited ${out.code}):\n${err}`);
  }
}

/** One object as an independent S3 client (boto3) sees it. */
export interface S3ObjectView {
  key: string;
  size: number;
  etag: string;
  contentType: string;
  contentEncoding: string | null;
  metadata: Record<string, string>;
  /** The records it holds (NDJSON, gzipped or not), or the Parquet rows read by pyarrow. */
  records: Record<string, unknown>[];
}

const S3_READER = `
import sys, json, gzip, io, datetime, boto3
from botocore.config import Config
import pyarrow.parquet as pq
endpoint, bucket, prefix, key_id, secret = sys.argv[1:6]
s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=key_id, aws_secret_access_key=secret,
                  region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))
def conv(v):
    if isinstance(v, datetime.datetime):
        v = v.astimezone(datetime.timezone.utc)
        return v.strftime('%Y-%m-%dT%H:%M:%S.') + '%03dZ' % (v.microsecond // 1000)
    if isinstance(v, dict): return {k: conv(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)): return [conv(x) for x in v]
    return v
out = []
for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
    for o in page.get("Contents", []):
        got = s3.get_object(Bucket=bucket, Key=o["Key"])
        body = got["Body"].read()
        if o["Key"].endswith(".parquet"):
            records = conv(pq.read_table(io.BytesIO(body)).to_pylist())
        else:
            if o["Key"].endswith(".gz"): body = gzip.decompress(body)
            records = [json.loads(l) for l in body.decode().split("\\n") if l]
        out.append({"key": o["Key"], "size": o["Size"], "etag": o["ETag"],
                    "contentType": got.get("ContentType"), "contentEncoding": got.get("ContentEncoding"),
                    "metadata": got.get("Metadata", {}), "records": records})
print(json.dumps(out))
`;

/** Every object under `prefix` in `bucket`, read back with boto3 (and pyarrow for Parquet). */
export async function readS3Objects(
  endpoint: string,
  bucket: string,
  prefix: string,
  keys: { accessKey: string; secretKey: string },
): Promise<S3ObjectView[]> {
  const args = [endpoint, bucket, prefix, keys.accessKey, keys.secretKey];
  return JSON.parse(await runPython(S3_READER, args));
}

/** Create `bucket` with boto3 (the sink never creates buckets). */
export async function createS3Bucket(
  endpoint: string,
  bucket: string,
  keys: { accessKey: string; secretKey: string },
): Promise<void> {
  const code = `
import sys, boto3
from botocore.config import Config
endpoint, bucket, key_id, secret = sys.argv[1:5]
s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=key_id, aws_secret_access_key=secret,
                  region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))
s3.create_bucket(Bucket=bucket)
`;
  await runPython(code, [endpoint, bucket, keys.accessKey, keys.secretKey]);
}
