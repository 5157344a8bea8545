/**
 * Loads `tests/fixtures/protocol-vectors.json` (PROTOCOL.md §8) and selects cases by kind.
 * Test-only helper.
 * @module
 */

/** One recorded case; `input` and `result` fields depend on `kind`. */
export interface VectorCase {
  kind: string;
  input: Record<string, unknown>;
  result: { ok: boolean; hex?: string; error?: string; cid?: string; value?: unknown };
}

const url = new URL("../fixtures/protocol-vectors.json", import.meta.url);
const all: VectorCase[] = JSON.parse(Deno.readTextFileSync(url)).cases;

/** Every case of `kind`, in file order. */
export function casesOf(kind: string): VectorCase[] {
  return all.filter((c) => c.kind === kind);
}
