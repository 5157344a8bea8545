/**
 * Keyed hashing for redaction: HMAC-SHA-256 with the configured secret, written as
 * `[HMAC:<key-id>:<first 128 bits, base64url>]` so analysts can join on a value without seeing
 * it, and tell which key made a hash (rotation: docs/redaction.md). The secret is read once at
 * start (`loadHashKey`) from a file or an environment variable and never logged. SHA-256 is done
 * here, synchronously, from precomputed inner/outer key states (two compressions for a short
 * value), with a bounded memo of recent values. Pipeline worker.
 * @module
 */

/** The keyed-hash secret cannot be read or is too short. */
export class HashKeyError extends Error {
  readonly code = "redact_hash_key_unavailable";
  constructor(message: string) {
    super(message);
    this.name = "HashKeyError";
  }
}

/** Shortest accepted secret, in bytes. */
export const MIN_KEY_BYTES = 16;
const MEMO_LIMIT = 8192;

/** Read the secret from `file` or env var `env` (trailing newline dropped). Throws HashKeyError. */
export function loadHashKey(source: { file?: string; env?: string }): Uint8Array {
  let raw: Uint8Array;
  if (source.file !== undefined) {
    try {
      raw = Deno.readFileSync(source.file);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      throw new HashKeyError(`cannot read redaction.hash-key-file ${source.file}: ${why}`);
    }
  } else if (source.env !== undefined) {
    let v: string | undefined;
    try {
      v = Deno.env.get(source.env);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      throw new HashKeyError(
        `cannot read env ${source.env} (run with --allow-env=${source.env}): ${why}`,
      );
    }
    if (v === undefined) {
      throw new HashKeyError(`env ${source.env} (redaction.hash-key-env) is unset`);
    }
    raw = new TextEncoder().encode(v);
  } else throw new HashKeyError("no redaction.hash-key-file or hash-key-env configured");
  let end = raw.length;
  while (end > 0 && (raw[end - 1] === 10 || raw[end - 1] === 13)) end--;
  if (end < MIN_KEY_BYTES) {
    throw new HashKeyError(
      `the redaction hash key has ${end} bytes; use at least ${MIN_KEY_BYTES} random bytes`,
    );
  }
  return raw.slice(0, end);
}

/** Keyed hashing with one secret and key id. */
export class KeyedHasher {
  readonly keyId: string;
  readonly #inner: Int32Array;
  readonly #outer: Int32Array;
  readonly #memo = new Map<string, string>();
  readonly #enc = new TextEncoder();

  constructor(secret: Uint8Array, keyId: string) {
    this.keyId = keyId;
    const block = new Uint8Array(64);
    block.set(secret.length > 64 ? sha256(secret) : secret);
    this.#inner = stateAfterBlock(block.map((b) => b ^ 0x36));
    this.#outer = stateAfterBlock(block.map((b) => b ^ 0x5c));
  }

  /** The token for `value`: `[HMAC:<key-id>:<22 base64url chars>]`. */
  token(value: string): string {
    let t = this.#memo.get(value);
    if (t !== undefined) return t;
    t = `[HMAC:${this.keyId}:${base64url(this.mac(this.#enc.encode(value)).subarray(0, 16))}]`;
    if (this.#memo.size >= MEMO_LIMIT) this.#memo.clear();
    this.#memo.set(value, t);
    return t;
  }

  /** Full HMAC-SHA-256 of `data`. */
  mac(data: Uint8Array): Uint8Array {
    const inner = digestFrom(this.#inner, data, 64);
    return digestFrom(this.#outer, inner, 64);
  }
}

// ── SHA-256 (FIPS 180-4) ─────────────────────────────────────────────────────────────────────

const K = new Int32Array([
  0x428a2f98,
  0x71374491,
  0xb5c0fbcf,
  0xe9b5dba5,
  0x3956c25b,
  0x59f111f1,
  0x923f82a4,
  0xab1c5ed5,
  0xd807aa98,
  0x12835b01,
  0x243185be,
  0x550c7dc3,
  0x72be5d74,
  0x80deb1fe,
  0x9bdc06a7,
  0xc19bf174,
  0xe49b69c1,
  0xefbe4786,
  0x0fc19dc6,
  0x240ca1cc,
  0x2de92c6f,
  0x4a7484aa,
  0x5cb0a9dc,
  0x76f988da,
  0x983e5152,
  0xa831c66d,
  0xb00327c8,
  0xbf597fc7,
  0xc6e00bf3,
  0xd5a79147,
  0x06ca6351,
  0x14292967,
  0x27b70a85,
  0x2e1b2138,
  0x4d2c6dfc,
  0x53380d13,
  0x650a7354,
  0x766a0abb,
  0x81c2c92e,
  0x92722c85,
  0xa2bfe8a1,
  0xa81a664b,
  0xc24b8b70,
  0xc76c51a3,
  0xd192e819,
  0xd6990624,
  0xf40e3585,
  0x106aa070,
  0x19a4c116,
  0x1e376c08,
  0x2748774c,
  0x34b0bcb5,
  0x391c0cb3,
  0x4ed8aa4a,
  0x5b9cca4f,
  0x682e6ff3,
  0x748f82ee,
  0x78a5636f,
  0x84c87814,
  0x8cc70208,
  0x90befffa,
  0xa4506ceb,
  0xbef9a3f7,
  0xc67178f2,
]);
const H0 = [
  0x6a09e667,
  0xbb67ae85,
  0x3c6ef372,
  0xa54ff53a,
  0x510e527f,
  0x9b05688c,
  0x1f83d9ab,
  0x5be0cd19,
];
const W = new Int32Array(64);

function compress(h: Int32Array, b: Uint8Array, off: number): void {
  for (let i = 0; i < 16; i++) {
    const j = off + i * 4;
    W[i] = (b[j] << 24) | (b[j + 1] << 16) | (b[j + 2] << 8) | b[j + 3];
  }
  for (let i = 16; i < 64; i++) {
    const x = W[i - 15], y = W[i - 2];
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    W[i] = (W[i - 16] + s0 + W[i - 7] + s1) | 0;
  }
  let a = h[0], bb = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (hh + S1 + ((e & f) ^ (~e & g)) + K[i] + W[i]) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (S0 + ((a & bb) ^ (a & c) ^ (bb & c))) | 0;
    hh = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = bb;
    bb = a;
    a = (t1 + t2) | 0;
  }
  h[0] = (h[0] + a) | 0;
  h[1] = (h[1] + bb) | 0;
  h[2] = (h[2] + c) | 0;
  h[3] = (h[3] + d) | 0;
  h[4] = (h[4] + e) | 0;
  h[5] = (h[5] + f) | 0;
  h[6] = (h[6] + g) | 0;
  h[7] = (h[7] + hh) | 0;
}

function stateAfterBlock(block: Uint8Array): Int32Array {
  const h = new Int32Array(H0);
  compress(h, block, 0);
  return h;
}

const SCRATCH_H = new Int32Array(8);
let scratch = new Uint8Array(128);

/** SHA-256 of `data` continuing from `state` after `done` bytes (buffers reused). */
function digestFrom(state: Int32Array, data: Uint8Array, done: number): Uint8Array {
  const h = SCRATCH_H;
  h.set(state);
  const len = Math.ceil((data.length + 9) / 64) * 64;
  if (scratch.length < len) scratch = new Uint8Array(len);
  const padded = scratch;
  padded.set(data);
  padded.fill(0, data.length, len);
  padded[data.length] = 0x80;
  const bits = (done + data.length) * 8;
  const hi = Math.floor(bits / 2 ** 32), lo = bits >>> 0;
  for (let i = 0; i < 4; i++) {
    padded[len - 8 + i] = (hi >>> (24 - i * 8)) & 0xff;
    padded[len - 4 + i] = (lo >>> (24 - i * 8)) & 0xff;
  }
  for (let off = 0; off < len; off += 64) compress(h, padded, off);
  const out = new Uint8Array(32);
  for (let i = 0; i < 8; i++) {
    const v = h[i];
    out[i * 4] = v >>> 24;
    out[i * 4 + 1] = (v >>> 16) & 0xff;
    out[i * 4 + 2] = (v >>> 8) & 0xff;
    out[i * 4 + 3] = v & 0xff;
  }
  return out;
}

/** Plain SHA-256. */
export function sha256(data: Uint8Array): Uint8Array {
  return digestFrom(new Int32Array(H0), data, 0);
}

function base64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
