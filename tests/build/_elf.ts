/**
 * Stand-in runtimes for build tests: small ELF executables for a chosen CPU. `deno compile` only
 * needs an ELF file to append its payload to, so `/bin/true` (x86-64) with its machine field
 * rewritten serves as an AArch64 "runtime" whose output is inspected, never run.
 * Test-only helper.
 * @module
 */

/** Copy `/bin/true` into `dir` with ELF machine `machine` (62 x86-64, 183 AArch64). */
export async function standInRuntime(dir: string, machine: number): Promise<string> {
  const bytes = await Deno.readFile("/bin/true");
  new DataView(bytes.buffer).setUint16(18, machine, true);
  const path = `${dir}/denort-standin-${machine}`;
  await Deno.writeFile(path, bytes, { mode: 0o755 });
  return path;
}

/** A 20-byte ELF header prefix with the given machine (enough for the build's arch check). */
export function elfHeader(machine: number): Uint8Array {
  const h = new Uint8Array(64);
  h.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  new DataView(h.buffer).setUint16(18, machine, true);
  return h;
}
