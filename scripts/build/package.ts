/**
 * Packages one target: `telemetry-<version>-<target>.tar.gz` holding the binary, its licence,
 * the data licences and manifest, the operator files from `packaging/` and `BUILD-INFO.json`;
 * and `<archive>.sha256` in `sha256sum` format (`sha256sum -c` checks it). Build time only.
 * @module
 */

import { basename, join } from "node:path";
import { type TarEntry, tarGz } from "./tar.ts";

/** What goes into one target's archive. */
export interface PackageSpec {
  outDir: string;
  version: string;
  target: string;
  binary: string;
  /** Extra files: path on disk → name inside the archive's top folder. */
  files: { path: string; name: string }[];
  /** Written as `BUILD-INFO.json`. */
  buildInfo: unknown;
  mtime: Date;
}

/** The archive and checksum written. */
export interface Packaged {
  archive: string;
  checksumFile: string;
  sha256: string;
  archiveBytes: number;
  binarySha256: string;
}

/** Write the archive and its `.sha256` file. */
export async function packageTarget(spec: PackageSpec): Promise<Packaged> {
  const top = `telemetry-${spec.version}-${spec.target}`;
  const binary = await Deno.readFile(spec.binary);
  const entries: TarEntry[] = [
    { name: top },
    { name: `${top}/telemetry`, data: binary, mode: 0o755 },
    {
      name: `${top}/BUILD-INFO.json`,
      data: new TextEncoder().encode(JSON.stringify(spec.buildInfo, null, 2) + "\n"),
    },
  ];
  const dirs = new Set<string>();
  for (const f of [...spec.files].sort((a, b) => a.name.localeCompare(b.name))) {
    const parts = f.name.split("/").slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      const d = `${top}/${parts.slice(0, i).join("/")}`;
      if (!dirs.has(d)) entries.push({ name: d });
      dirs.add(d);
    }
    entries.push({ name: `${top}/${f.name}`, data: await Deno.readFile(f.path) });
  }
  const archive = join(spec.outDir, `${top}.tar.gz`);
  const bytes = await tarGz(entries, spec.mtime);
  await Deno.writeFile(archive, bytes);
  const sha256 = await sha256Hex(bytes);
  const checksumFile = `${archive}.sha256`;
  await Deno.writeTextFile(checksumFile, `${sha256}  ${basename(archive)}\n`);
  return {
    archive,
    checksumFile,
    sha256,
    archiveBytes: bytes.length,
    binarySha256: await sha256Hex(binary),
  };
}

/** Lower-case hex SHA-256. */
export async function sha256Hex(data: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
