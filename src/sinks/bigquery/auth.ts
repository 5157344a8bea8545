/**
 * Service-account auth for BigQuery: the JSON key file is read and checked, a JWT (RS256) is
 * signed with WebCrypto and exchanged at the OAuth 2.0 token endpoint (RFC 7523 JWT bearer
 * grant) for an access token, which is cached and refreshed before it expires (one request at
 * a time, however many writes wait for it).
 * Pipeline worker. Never retries: a failed exchange is a `SinkError` (retryable for network
 * errors, 5xx and 429; fatal for a refused grant, which means a bad key or clock).
 * @module
 */

import { SinkError } from "../contract.ts";
import { exchange, isRetryableStatus, quote, statusError } from "../_http_fetch.ts";

/** Access to insert rows (`tabledata.insertAll`). */
export const BIGQUERY_SCOPE = "https://www.googleapis.com/auth/bigquery.insertdata";
/** Lifetime asked for in the JWT (Google's maximum). */
const JWT_LIFETIME_S = 3600;

/** The fields of a service-account key file the sink uses. */
export interface ServiceAccountKey {
  client_email: string;
  private_key: string;
  private_key_id: string;
}

/**
 * Read and check a service-account JSON key file.
 *
 * @example
 * ```ts
 * const key = await loadServiceAccountKey("/etc/telemetry/bq-key.json");
 * ```
 */
export async function loadServiceAccountKey(path: string): Promise<ServiceAccountKey> {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(await Deno.readTextFile(path));
  } catch (err) {
    throw configError(`cannot read credentials-file ${path}: ${(err as Error).message}`, err);
  }
  if (parsed.type !== "service_account") {
    throw configError(
      `credentials-file ${path} is not a service-account key ("type" is ${
        JSON.stringify(parsed.type)
      })`,
    );
  }
  for (const field of ["client_email", "private_key", "private_key_id"]) {
    if (typeof parsed[field] !== "string" || parsed[field] === "") {
      throw configError(`credentials-file ${path} lacks "${field}"; download a new JSON key`);
    }
  }
  return parsed as unknown as ServiceAccountKey;
}

/**
 * Access tokens for one service account: cached, refreshed when a tenth of their life (at most
 * a minute) is left, and dropped by `invalidate()` when the API refuses one.
 *
 * @example
 * ```ts
 * const tokens = await TokenSource.create(key, tokenUrl, 30_000);
 * headers.set("authorization", `Bearer ${await tokens.token()}`);
 * ```
 */
export class TokenSource {
  readonly #key: ServiceAccountKey;
  readonly #signingKey: CryptoKey;
  readonly #tokenUrl: string;
  readonly #timeoutMs: number;
  #token: { value: string; refreshAt: number } | undefined;
  #pending: Promise<string> | undefined;
  /** Tokens fetched so far (for metrics and tests). */
  fetched = 0;

  private constructor(
    key: ServiceAccountKey,
    signingKey: CryptoKey,
    tokenUrl: string,
    timeoutMs: number,
  ) {
    this.#key = key;
    this.#signingKey = signingKey;
    this.#tokenUrl = tokenUrl;
    this.#timeoutMs = timeoutMs;
  }

  /** Import the key's private key; throws `sink_config` when it is not a PKCS#8 RSA key. */
  static async create(
    key: ServiceAccountKey,
    tokenUrl: string,
    timeoutMs: number,
  ): Promise<TokenSource> {
    let signingKey: CryptoKey;
    try {
      signingKey = await crypto.subtle.importKey(
        "pkcs8",
        pemToDer(key.private_key),
        { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
        false,
        ["sign"],
      );
    } catch (err) {
      throw configError(
        `the service-account private_key cannot be used: ${(err as Error).message}`,
        err,
      );
    }
    return new TokenSource(key, signingKey, tokenUrl, timeoutMs);
  }

  /** A valid access token (cached, or fetched now). */
  token(): Promise<string> {
    if (this.#token !== undefined && Date.now() < this.#token.refreshAt) {
      return Promise.resolve(this.#token.value);
    }
    this.#pending ??= this.#fetch().finally(() => (this.#pending = undefined));
    return this.#pending;
  }

  /** Forget the cached token (the API said it is no longer valid). */
  invalidate(): void {
    this.#token = undefined;
  }

  async #fetch(): Promise<string> {
    const assertion = await signJwt(this.#key, this.#signingKey, this.#tokenUrl);
    const body = new URLSearchParams({
      grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer",
      assertion,
    });
    const request = new Request(this.#tokenUrl, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body,
    });
    const reply = await exchange(request, this.#timeoutMs, "bigquery sink token request");
    if (reply.status !== 200) {
      if (isRetryableStatus(reply.status)) throw statusError(reply, "bigquery sink token request");
      throw new SinkError(
        `bigquery sink: the token endpoint refused the service account (HTTP ${reply.status}: ` +
          `${quote(reply.body)}); check credentials-file and the host's clock`,
        { code: "sink_backend_rejected", retryable: false },
      );
    }
    const parsed = JSON.parse(reply.body) as { access_token?: unknown; expires_in?: unknown };
    if (typeof parsed.access_token !== "string" || typeof parsed.expires_in !== "number") {
      throw new SinkError(`bigquery sink: unexpected token reply: ${quote(reply.body)}`, {
        code: "sink_unavailable",
        retryable: true,
      });
    }
    const lifetimeMs = parsed.expires_in * 1000;
    const margin = Math.min(60_000, lifetimeMs / 10);
    this.#token = { value: parsed.access_token, refreshAt: Date.now() + lifetimeMs - margin };
    this.fetched++;
    return parsed.access_token;
  }
}

/** A JWT asserting the service account, for the token endpoint (RFC 7523 §2.1). */
export async function signJwt(
  key: ServiceAccountKey,
  signingKey: CryptoKey,
  audience: string,
): Promise<string> {
  const iat = Math.floor(Date.now() / 1000);
  const header = { alg: "RS256", typ: "JWT", kid: key.private_key_id };
  const claims = {
    iss: key.client_email,
    scope: BIGQUERY_SCOPE,
    aud: audience,
    iat,
    exp: iat + JWT_LIFETIME_S,
  };
  const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  const sig = await crypto.subtle.sign(
    "RSASSA-PKCS1-v1_5",
    signingKey,
    new TextEncoder().encode(input),
  );
  return `${input}.${base64url(new Uint8Array(sig))}`;
}

/** URL-safe base64 without padding, of text or bytes. */
export function base64url(data: string | Uint8Array): string {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function pemToDer(pem: string): ArrayBuffer {
  const b64 = pem.replace(/-----(BEGIN|END) PRIVATE KEY-----/g, "").replace(/\s+/g, "");
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out.buffer;
}

function configError(message: string, cause?: unknown): SinkError {
  return new SinkError(`bigquery sink: ${message}`, {
    code: "sink_config",
    retryable: false,
    cause,
  });
}
