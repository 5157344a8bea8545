/**
 * Reads what `deno compile` embedded in an executable: the metadata (permissions, entrypoint)
 * and the virtual file system's file list. Test-only helper; the layout is Deno 2.9's
 * (`d3n0l4nd` magic, then length-prefixed sections, metadata and the VFS tree as JSON).
 * @module
 */

/** The compile metadata and the embedded files. */
export interface Payload {
  metadata: {
    entrypoint_key: string;
    app_name?: string;
    permissions: Record<string, string[] | boolean | null>;
    [key: string]: unknown;
  };
  /** Embedded file paths relative to the VFS root (`src/pipeline/worker.ts`). */
  files: string[];
}

const MAGIC = new TextEncoder().encode("d3n0l4ndd3n0l4nd");

/** Parse the payload of a compiled executable. */
export async function readPayload(path: string): Promise<Payload> {
  const bin = await Deno.readFile(path);
  const start = indexOf(bin, MAGIC, 0);
  if (start < 0) throw new Error(`${path}: no deno compile payload`);
  const view = new DataView(bin.buffer, bin.byteOffset, bin.byteLength);
  let at = start + MAGIC.length;
  const metaLen = Number(view.getBigUint64(at, true));
  at += 8;
  const metadata = JSON.parse(new TextDecoder().decode(bin.subarray(at, at + metaLen)));
  at += metaLen;
  const vfsStart = indexOf(bin, new TextEncoder().encode('[{"'), at);
  const vfsLen = Number(view.getBigUint64(vfsStart - 8, true));
  const tree = JSON.parse(new TextDecoder().decode(bin.subarray(vfsStart, vfsStart + vfsLen)));
  const files: string[] = [];
  walk(tree, "", files);
  return { metadata, files };
}

type VfsEntry = Record<string, { n: string; e?: VfsEntry[] }>;

function walk(entries: VfsEntry[], prefix: string, out: string[]): void {
  for (const entry of entries) {
    for (const [kind, v] of Object.entries(entry)) {
      if (kind === "Dir") walk(v.e ?? [], `${prefix}${v.n}/`, out);
      else out.push(`${prefix}${v.n}`);
    }
  }
}

function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0];
  for (let i = hay.indexOf(first, from); i >= 0; i = hay.indexOf(first, i + 1)) {
    let ok = true;
    for (let j = 1; j < needle.length && ok; j++) ok = hay[i + j] === needle[j];
    if (ok) return i;
  }
  return -1;
}
