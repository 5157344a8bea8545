/**
 * A local stand-in for Google's OAuth token endpoint and BigQuery's `tabledata.insertAll`,
 * strict about the documented request/response contract, so the BigQuery sink can be tested
 * where no BigQuery can run:
 * - token endpoint: form-encoded RFC 7523 JWT-bearer grant; the JWT's RS256 signature is
 *   verified with the test service account's public key, and its `kid`, `iss`, `aud`, `scope`,
 *   `iat` and `exp` (≤ 1 h) are checked; tokens expire after `tokenLifetimeS`.
 * - insertAll: POST to `/bigquery/v2/projects/P/datasets/D/tables/T/insertAll` with a valid,
 *   unexpired bearer token and a JSON body of `{kind?, skipInvalidRows?, ignoreUnknownValues?,
 *   templateSuffix?, traceId?, rows: [{insertId ≤ 128 chars, json}]}`, at most 50,000 rows and
 *   10 MB; every row is checked against the table schema (types, modes, unknown fields) and
 *   gets `invalid` when wrong; with `skipInvalidRows` false the others get `stopped`; replies
 *   use Google's shapes (`insertErrors`, `{error: {code, message, errors, status}}`); rows are
 *   de-duplicated by `insertId` as BigQuery's best-effort de-duplication does.
 * Failures are injected on command: request errors (5xx, 429, quota 403, 401, 404), partial
 * row failures (chosen rows get a reason and are not inserted), slow answers.
 * Every contract breach is recorded in `violations` and answered with 400. Test-only helper.
 * @module
 */

import { LocalHttpServer } from "./local_http_server.ts";
import { base64url } from "../../src/sinks/bigquery/auth.ts";
import type { BigQueryField } from "../../src/sinks/bigquery/schema.ts";

export const CLIENT_EMAIL = "telemetry-writer@test-project.iam.gserviceaccount.com";
const MAX_ROWS = 50_000;
const MAX_BYTES = 10_000_000;
const BODY_KEYS = new Set([
  "kind",
  "skipInvalidRows",
  "ignoreUnknownValues",
  "templateSuffix",
  "traceId",
  "rows",
]);

/** An injected failure for the next insertAll request. */
export type BigQueryFault =
  | { status: number; reason: string; retryAfter?: string }
  | { rowErrors: { positions: number[]; reason: string } }
  | { delayMs: number };

export interface ContractServerOptions {
  project: string;
  dataset: string;
  table: string;
  schema: BigQueryField[];
  /** Lifetime of issued tokens. @default 3600 */
  tokenLifetimeS?: number;
}

/** A service-account key file (JSON) whose public half the server trusts. */
export interface TestKey {
  json: Record<string, string>;
  publicKey: CryptoKey;
}

/** Make an RSA key pair and the key file Google would hand out. */
export async function makeServiceAccountKey(tokenUrl: string): Promise<TestKey> {
  const pair = await crypto.subtle.generateKey(
    {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    },
    true,
    ["sign", "verify"],
  );
  const der = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  const b64 = btoa(String.fromCharCode(...der)).replace(/(.{64})/g, "$1\n");
  return {
    json: {
      type: "service_account",
      project_id: "test-project",
      private_key_id: "0123456789abcdef",
      private_key: `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n`,
      client_email: CLIENT_EMAIL,
      client_id: "1234567890",
      token_uri: tokenUrl,
    },
    publicKey: pair.publicKey,
  };
}

/** One insertAll request as received. */
export interface InsertRequest {
  rows: number;
  bytes: number;
  status: number;
  at: number;
}

export class BigQueryContractServer extends LocalHttpServer {
  readonly faults: BigQueryFault[] = [];
  readonly violations: string[] = [];
  readonly requests: InsertRequest[] = [];
  /** Rows stored, in arrival order: `{insertId, json}`. */
  readonly rows: { insertId: string; json: Record<string, unknown> }[] = [];
  /** Rows dropped as duplicates of an insertId already stored. */
  duplicates = 0;
  tokensIssued = 0;
  #seen = new Set<string>();
  #tokens = new Map<string, number>();
  #o: ContractServerOptions;
  #key: TestKey | undefined;

  constructor(o: ContractServerOptions) {
    super();
    this.#o = o;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get tokenUrl(): string {
    return `${this.url}/token`;
  }

  /** Trust `key` (made by `makeServiceAccountKey`). */
  trust(key: TestKey): void {
    this.#key = key;
  }

  /** Make every issued token invalid (as if revoked). */
  revokeTokens(): void {
    this.#tokens.clear();
  }

  protected async handle(req: Request): Promise<Response> {
    const path = new URL(req.url).pathname;
    if (path === "/token") return await this.#token(req);
    const m = /^\/bigquery\/v2\/projects\/([^/]+)\/datasets\/([^/]+)\/tables\/([^/]+)\/insertAll$/
      .exec(path);
    if (m) return await this.#insertAll(req, m.slice(1).map(decodeURIComponent));
    return this.#breach(`unexpected ${req.method} ${path}`, 404);
  }

  async #token(req: Request): Promise<Response> {
    if (req.method !== "POST") return this.#breach(`token: method ${req.method}`);
    if (req.headers.get("content-type") !== "application/x-www-form-urlencoded") {
      return this.#breach(`token: content-type ${req.headers.get("content-type")}`);
    }
    const form = new URLSearchParams(await req.text());
    if (form.get("grant_type") !== "urn:ietf:params:oauth:grant-type:jwt-bearer") {
      return this.#breach(`token: grant_type ${form.get("grant_type")}`);
    }
    const why = await this.#checkJwt(form.get("assertion") ?? "");
    if (why) {
      this.violations.push(`token: ${why}`);
      return Response.json({ error: "invalid_grant", error_description: why }, { status: 400 });
    }
    const token = `ya29.test-${++this.tokensIssued}-${crypto.randomUUID()}`;
    const lifetime = this.#o.tokenLifetimeS ?? 3600;
    this.#tokens.set(token, Date.now() + lifetime * 1000);
    return Response.json({ access_token: token, expires_in: lifetime, token_type: "Bearer" });
  }

  async #checkJwt(jwt: string): Promise<string | undefined> {
    const parts = jwt.split(".");
    if (parts.length !== 3) return "assertion is not a JWT";
    const [h, c, s] = parts.map((p) => new TextDecoder().decode(fromBase64url(p)));
    const header = JSON.parse(h);
    const claims = JSON.parse(c);
    if (header.alg !== "RS256" || header.typ !== "JWT") return `JWT header ${h}`;
    if (!this.#key || header.kid !== this.#key.json.private_key_id) {
      return `unknown kid ${header.kid}`;
    }
    const ok = await crypto.subtle.verify(
      "RSASSA-PKCS1-v1_5",
      this.#key.publicKey,
      fromBase64url(parts[2]),
      new TextEncoder().encode(`${parts[0]}.${parts[1]}`),
    );
    if (!ok || s.length === 0) return "JWT signature does not verify";
    const now = Date.now() / 1000;
    if (claims.iss !== CLIENT_EMAIL) return `iss ${claims.iss}`;
    if (claims.aud !== this.tokenUrl) return `aud ${claims.aud}`;
    if (
      !String(claims.scope).split(" ").some((x) =>
        x.startsWith("https://www.googleapis.com/auth/bigquery")
      )
    ) {
      return `scope ${claims.scope}`;
    }
    if (Math.abs(claims.iat - now) > 300) return `iat ${claims.iat} is not now`;
    if (!(claims.exp > claims.iat && claims.exp - claims.iat <= 3600)) return `exp ${claims.exp}`;
    return undefined;
  }

  async #insertAll(req: Request, [project, dataset, table]: string[]): Promise<Response> {
    const at = performance.now();
    const text = await req.text();
    const bytes = new TextEncoder().encode(text).length;
    const record = (status: number, rows = 0) => this.requests.push({ rows, bytes, status, at });
    if (req.method !== "POST") return this.#breach(`insertAll: method ${req.method}`);
    const auth = /^Bearer (\S+)$/.exec(req.headers.get("authorization") ?? "");
    const expires = auth ? this.#tokens.get(auth[1]) : undefined;
    if (expires === undefined || expires < Date.now()) {
      record(401);
      return googleError(
        401,
        "Request had invalid authentication credentials.",
        "authError",
        "UNAUTHENTICATED",
      );
    }
    if (!/^application\/json\b/.test(req.headers.get("content-type") ?? "")) {
      return this.#breach(`insertAll: content-type ${req.headers.get("content-type")}`);
    }
    if (bytes > MAX_BYTES) {
      return this.#breach(`insertAll: request of ${bytes} bytes exceeds 10 MB`);
    }
    if (project !== this.#o.project || dataset !== this.#o.dataset || table !== this.#o.table) {
      record(404);
      return googleError(
        404,
        `Not found: Table ${project}:${dataset}.${table}`,
        "notFound",
        "NOT_FOUND",
      );
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text);
    } catch {
      return this.#breach("insertAll: body is not JSON");
    }
    const shape = checkBody(body);
    if (shape) return this.#breach(`insertAll: ${shape}`);
    const rows = body.rows as { insertId: string; json: Record<string, unknown> }[];
    const fault = this.faults.shift();
    if (fault && "delayMs" in fault) await new Promise((r) => setTimeout(r, fault.delayMs));
    if (fault && "status" in fault) {
      record(fault.status, rows.length);
      const headers = fault.retryAfter ? { "retry-after": fault.retryAfter } : undefined;
      return googleError(
        fault.status,
        `injected ${fault.reason}`,
        fault.reason,
        "INJECTED",
        headers,
      );
    }
    record(200, rows.length);
    return Response.json(this.#store(rows, body.skipInvalidRows === true, fault));
  }

  #store(
    rows: { insertId: string; json: Record<string, unknown> }[],
    skipInvalid: boolean,
    fault: BigQueryFault | undefined,
  ): Record<string, unknown> {
    const errors = new Map<number, { reason: string; location: string; message: string }[]>();
    rows.forEach((row, i) => {
      const problems = checkRow(row.json, this.#o.schema, "");
      if (problems.length > 0) {
        errors.set(
          i,
          problems.map((p) => ({ reason: "invalid", location: p.location, message: p.message })),
        );
      }
    });
    if (fault && "rowErrors" in fault) {
      for (const i of fault.rowErrors.positions) {
        if (i < rows.length) {
          errors.set(i, [{ reason: fault.rowErrors.reason, location: "", message: "injected" }]);
        }
      }
    }
    const invalid = [...errors.values()].some((e) => e.some((x) => x.reason === "invalid"));
    if (invalid && !skipInvalid) {
      rows.forEach((_, i) => {
        if (!errors.has(i)) errors.set(i, [{ reason: "stopped", location: "", message: "" }]);
      });
    }
    rows.forEach((row, i) => {
      if (errors.has(i)) return;
      if (this.#seen.has(row.insertId)) {
        this.duplicates++;
        return;
      }
      this.#seen.add(row.insertId);
      this.rows.push(row);
    });
    const out: Record<string, unknown> = { kind: "bigquery#tableDataInsertAllResponse" };
    if (errors.size > 0) out.insertErrors = [...errors].map(([index, e]) => ({ index, errors: e }));
    return out;
  }

  #breach(what: string, status = 400): Response {
    this.violations.push(what);
    return googleError(status, what, "invalid", "INVALID_ARGUMENT");
  }
}

/** Start a contract server for `o`. */
export async function startBigQueryContractServer(
  o: ContractServerOptions,
): Promise<BigQueryContractServer> {
  const s = new BigQueryContractServer(o);
  await s.start();
  return s;
}

function checkBody(body: Record<string, unknown>): string | undefined {
  for (const k of Object.keys(body)) if (!BODY_KEYS.has(k)) return `unknown request field ${k}`;
  if (body.kind !== undefined && body.kind !== "bigquery#tableDataInsertAllRequest") {
    return `kind ${body.kind}`;
  }
  for (const k of ["skipInvalidRows", "ignoreUnknownValues"]) {
    if (body[k] !== undefined && typeof body[k] !== "boolean") return `${k} is not a boolean`;
  }
  const rows = body.rows;
  if (!Array.isArray(rows) || rows.length === 0) return "rows must be a non-empty array";
  if (rows.length > MAX_ROWS) return `${rows.length} rows exceed ${MAX_ROWS}`;
  for (const [i, r] of rows.entries()) {
    if (typeof r !== "object" || r === null) return `rows[${i}] is not an object`;
    for (const k of Object.keys(r)) {
      if (k !== "insertId" && k !== "json") return `rows[${i}].${k} is unknown`;
    }
    if (typeof r.insertId !== "string" || r.insertId.length === 0 || r.insertId.length > 128) {
      return `rows[${i}].insertId must be 1–128 characters`;
    }
    if (typeof r.json !== "object" || r.json === null || Array.isArray(r.json)) {
      return `rows[${i}].json is not an object`;
    }
  }
  return undefined;
}

/** Problems of one row's `json` against the schema (BigQuery's own row validation). */
export function checkRow(
  json: Record<string, unknown>,
  fields: BigQueryField[],
  prefix: string,
): { location: string; message: string }[] {
  const out: { location: string; message: string }[] = [];
  const known = new Map(fields.map((f) => [f.name, f]));
  for (const k of Object.keys(json)) {
    if (!known.has(k)) out.push({ location: prefix + k, message: `no such field: ${prefix}${k}.` });
  }
  for (const f of fields) {
    const v = json[f.name];
    const loc = prefix + f.name;
    if (v === undefined || v === null) {
      if (f.mode === "REQUIRED") {
        out.push({ location: loc, message: `Missing required field: ${loc}.` });
      }
      continue;
    }
    const values = f.mode === "REPEATED" ? v : [v];
    if (!Array.isArray(values)) {
      out.push({ location: loc, message: `Array specified for non-repeated field: ${loc}.` });
      continue;
    }
    for (const x of values) out.push(...checkValue(x, f, loc));
  }
  return out;
}

function checkValue(
  v: unknown,
  f: BigQueryField,
  loc: string,
): { location: string; message: string }[] {
  const bad = (
    what: string,
  ) => [{ location: loc, message: `Cannot convert value to ${what}: ${loc}.` }];
  switch (f.type) {
    case "STRING":
      return typeof v === "string" ? [] : bad("string");
    case "INTEGER":
      return (typeof v === "number" && Number.isInteger(v)) ||
          (typeof v === "string" && /^-?\d+$/.test(v))
        ? []
        : bad("integer");
    case "FLOAT":
      return typeof v === "number" ? [] : bad("floating point");
    case "BOOLEAN":
      return typeof v === "boolean" ? [] : bad("boolean");
    case "TIMESTAMP":
      return typeof v === "string" &&
          /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(Z|[+-]\d\d:\d\d)$/.test(v)
        ? []
        : bad("timestamp");
    case "RECORD":
      return typeof v === "object" && v !== null && !Array.isArray(v)
        ? checkRow(v as Record<string, unknown>, f.fields ?? [], `${loc}.`)
        : bad("record");
  }
}

function googleError(
  code: number,
  message: string,
  reason: string,
  status: string,
  headers?: Record<string, string>,
): Response {
  return Response.json(
    { error: { code, message, errors: [{ message, domain: "global", reason }], status } },
    { status: code, headers },
  );
}

function fromBase64url(s: string): Uint8Array<ArrayBuffer> {
  const b64 = s.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (s.length % 4)) % 4);
  const bin = atob(b64);
  return Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
}

export { base64url };
