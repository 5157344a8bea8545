/**
 * Gzip for sink payloads (node:zlib: measured ~2× faster than `CompressionStream` on 5 MB of
 * NDJSON here). Any thread. Pure: bytes in, bytes out.
 * @module
 */

import { gzip as gzipCallback } from "node:zlib";

/**
 * `bytes` as one gzip member (level 6, zlib's default balance of size and speed).
 *
 * @example
 * ```ts
 * const body = await gzip(encodeNdjson(batch));
 * ```
 */
export function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    gzipCallback(bytes, (err, out) => {
      if (err) reject(err);
      else resolve(new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
    });
  });
}
