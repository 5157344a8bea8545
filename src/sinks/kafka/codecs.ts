/**
 * Compression codecs kafkajs lacks, from libraries that run under Deno without native code:
 * snappy (`snappyjs`, raw snappy blocks, which Kafka and librdkafka read), lz4 (`lz4js` blocks
 * in an LZ4 frame written here, with independent 64 KiB blocks as Kafka requires) and zstd
 * (`zstd-codec`, WebAssembly embedded in the package). gzip is built into kafkajs.
 * Pipeline worker. Each library is imported only when a sink asks for its codec.
 * @module
 */

import { Buffer } from "node:buffer";
import type { KafkaCompression } from "./options.ts";

/** kafkajs's codec shape: `compress` gets its encoder (`.buffer`), returns the bytes. */
export interface KafkaCodec {
  compress(encoder: { buffer: Uint8Array }): Promise<Buffer>;
  decompress(buffer: Uint8Array): Promise<Buffer>;
}

interface SnappyJs {
  compress(b: Uint8Array): Uint8Array;
  uncompress(b: Uint8Array): Uint8Array;
}
interface Lz4Js {
  compressBlock(
    src: Uint8Array,
    dst: Uint8Array,
    sIndex: number,
    sLength: number,
    table: Uint32Array,
  ): number;
  compressBound(n: number): number;
  decompress(b: Uint8Array): Uint8Array;
}
interface Xxh32 {
  hash(seed: number, src: Uint8Array, index: number, length: number): number;
}
interface ZstdSimple {
  compress(b: Uint8Array, level?: number): Uint8Array | null;
  decompress(b: Uint8Array): Uint8Array | null;
}
interface ZstdCodecModule {
  ZstdCodec: { run(cb: (zstd: { Simple: new () => ZstdSimple }) => void): void };
}

/** Load the codec for `compression`; `undefined` for none and gzip (built into kafkajs). */
export async function loadCodec(compression: KafkaCompression): Promise<KafkaCodec | undefined> {
  switch (compression) {
    case "snappy":
      return snappyCodec(await importDefault<SnappyJs>(import("snappyjs")));
    case "lz4":
      return lz4Codec(
        await importDefault<Lz4Js>(import("lz4js")),
        await importDefault<Xxh32>(import("lz4js/xxh32.js")),
      );
    case "zstd":
      return zstdCodec(await importDefault<ZstdCodecModule>(import("zstd-codec")));
    default:
      return undefined;
  }
}

async function importDefault<T>(p: Promise<unknown>): Promise<T> {
  const m = await p as { default?: unknown };
  return (m.default ?? m) as T;
}

function snappyCodec(snappy: SnappyJs): KafkaCodec {
  return {
    compress: (e) => Promise.resolve(Buffer.from(snappy.compress(e.buffer))),
    decompress: (b) => Promise.resolve(Buffer.from(snappy.uncompress(b))),
  };
}

const LZ4_MAGIC = 0x184d2204;
/** FLG: version 01, block independence; no checksums, no content size. */
const LZ4_FLG = 0x60;
/** BD: 64 KiB maximum block size. */
const LZ4_BD = 0x40;
const LZ4_BLOCK = 64 * 1024;

function lz4Codec(lz4: Lz4Js, xxh: Xxh32): KafkaCodec {
  return {
    compress: (e) => Promise.resolve(Buffer.from(lz4Frame(lz4, xxh, e.buffer))),
    decompress: (b) => Promise.resolve(Buffer.from(lz4.decompress(b))),
  };
}

/** An LZ4 frame of independent blocks (Kafka refuses dependent blocks). */
function lz4Frame(lz4: Lz4Js, xxh: Xxh32, src: Uint8Array): Uint8Array {
  const blocks = Math.ceil(src.length / LZ4_BLOCK);
  const out = new Uint8Array(7 + blocks * (4 + lz4.compressBound(LZ4_BLOCK)) + 4);
  const view = new DataView(out.buffer);
  view.setUint32(0, LZ4_MAGIC, true);
  out[4] = LZ4_FLG;
  out[5] = LZ4_BD;
  out[6] = (xxh.hash(0, out, 4, 2) >>> 8) & 0xff;
  let at = 7;
  const scratch = new Uint8Array(lz4.compressBound(LZ4_BLOCK));
  for (let from = 0; from < src.length; from += LZ4_BLOCK) {
    const size = Math.min(LZ4_BLOCK, src.length - from);
    const n = lz4.compressBlock(src, scratch, from, size, new Uint32Array(1 << 16));
    if (n === 0 || n >= size) {
      view.setUint32(at, (0x80000000 | size) >>> 0, true);
      out.set(src.subarray(from, from + size), at + 4);
      at += 4 + size;
    } else {
      view.setUint32(at, n, true);
      out.set(scratch.subarray(0, n), at + 4);
      at += 4 + n;
    }
  }
  view.setUint32(at, 0, true);
  return out.subarray(0, at + 4);
}

async function zstdCodec(mod: ZstdCodecModule): Promise<KafkaCodec> {
  const simple = await new Promise<ZstdSimple>((resolve) => {
    mod.ZstdCodec.run((zstd) => resolve(new zstd.Simple()));
  });
  const must = (b: Uint8Array | null, what: string): Buffer => {
    if (b === null) throw new Error(`zstd ${what} failed`);
    return Buffer.from(b);
  };
  return {
    compress: (e) => Promise.resolve(must(simple.compress(e.buffer, 3), "compression")),
    decompress: (b) => Promise.resolve(must(simple.decompress(b), "decompression")),
  };
}
