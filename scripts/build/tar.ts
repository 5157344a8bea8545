/**
 * Writes gzip-compressed POSIX ustar archives with fixed owner (0:0) and one mtime, so the same
 * inputs give the same bytes (reproducible release archives). Build time only.
 * @module
 */

/** One archive member. A directory has no `data`. */
export interface TarEntry {
  /** Path inside the archive, `/`-separated, no leading `/`. */
  name: string;
  data?: Uint8Array;
  /** Permission bits; default 0o644 for files, 0o755 for directories. */
  mode?: number;
}

const BLOCK = 512;
const encoder = new TextEncoder();

/** The entries as one ustar archive (uncompressed). */
export function tar(entries: readonly TarEntry[], mtime: Date): Uint8Array {
  const parts: Uint8Array[] = [];
  const seconds = Math.floor(mtime.getTime() / 1000);
  for (const e of entries) {
    const dir = e.data === undefined;
    const data = e.data ?? new Uint8Array(0);
    parts.push(header(e.name, dir, e.mode ?? (dir ? 0o755 : 0o644), data.length, seconds));
    if (!dir) {
      parts.push(data);
      const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
      if (pad > 0) parts.push(new Uint8Array(pad));
    }
  }
  parts.push(new Uint8Array(BLOCK * 2));
  return concat(parts);
}

/** The entries as a `.tar.gz`. */
export async function tarGz(entries: readonly TarEntry[], mtime: Date): Promise<Uint8Array> {
  const stream = new Blob([tar(entries, mtime) as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function header(name: string, dir: boolean, mode: number, size: number, mtime: number) {
  const h = new Uint8Array(BLOCK);
  const full = dir && !name.endsWith("/") ? `${name}/` : name;
  const [prefix, base] = splitName(full);
  put(h, 0, 100, base);
  put(h, 100, 8, octal(mode, 7));
  put(h, 108, 8, octal(0, 7));
  put(h, 116, 8, octal(0, 7));
  put(h, 124, 12, octal(size, 11));
  put(h, 136, 12, octal(mtime, 11));
  h.fill(0x20, 148, 156); // checksum counted as spaces
  h[156] = dir ? 0x35 : 0x30; // '5' directory, '0' file
  put(h, 257, 6, "ustar");
  put(h, 263, 2, "00");
  put(h, 265, 32, "root");
  put(h, 297, 32, "root");
  put(h, 345, 155, prefix);
  const sum = h.reduce((a, b) => a + b, 0);
  put(h, 148, 8, `${octal(sum, 6)}\0 `);
  return h;
}

/** ustar keeps up to 155 bytes of directories in `prefix` and 100 of the rest in `name`. */
function splitName(name: string): [string, string] {
  if (encoder.encode(name).length <= 100) return ["", name];
  for (let i = name.lastIndexOf("/", name.length - 2); i > 0; i = name.lastIndexOf("/", i - 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (encoder.encode(prefix).length <= 155 && encoder.encode(rest).length <= 100) {
      return [prefix, rest];
    }
  }
  throw new Error(`Path too long for a tar archive: ${name}`);
}

function octal(n: number, width: number): string {
  const s = n.toString(8);
  if (s.length > width) throw new Error(`Value ${n} does not fit a tar header field`);
  return s.padStart(width, "0");
}

function put(h: Uint8Array, offset: number, length: number, text: string): void {
  const bytes = encoder.encode(text);
  if (bytes.length > length) throw new Error(`Tar header field too long: ${text}`);
  h.set(bytes, offset);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
