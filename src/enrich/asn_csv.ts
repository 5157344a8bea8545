/**
 * Reads ip-location-db's ASN CSV (`start,end,asn,organisation`, inclusive ranges, IPv4 or IPv6
 * text, organisation quoted when it holds a comma) into ranges for `encodeAsnTable`. Used at build
 * time by scripts/fetch-geo-data.ts. Pure; throws `DataFileError` when most lines are unreadable.
 * @module
 */

import type { AsnRange } from "./asn_table.ts";
import { DataFileError } from "./errors.ts";
import { parseIp } from "./ip.ts";

/** Ranges of one CSV file, split by IP version; `bad` counts lines that could not be read. */
export interface AsnCsv {
  v4: AsnRange[];
  v6: AsnRange[];
  bad: number;
}

/** Parse the CSV text; `file` names it in errors. */
export function parseAsnCsv(text: string, file: string): AsnCsv {
  const out: AsnCsv = { v4: [], v6: [], bad: 0 };
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end).replace(/\r$/, "");
    start = end + 1;
    if (line === "" || line.startsWith("#")) continue;
    if (!addLine(line, out)) out.bad++;
  }
  const good = out.v4.length + out.v6.length;
  if (good === 0 || out.bad > good / 100) {
    const why = `${out.bad} unreadable lines against ${good} ranges: not an ip-location-db ASN CSV`;
    throw new DataFileError("enrich_data_invalid", file, why);
  }
  return out;
}

function addLine(line: string, out: AsnCsv): boolean {
  const c1 = line.indexOf(","), c2 = line.indexOf(",", c1 + 1), c3 = line.indexOf(",", c2 + 1);
  if (c1 < 0 || c2 < 0 || c3 < 0) return false;
  const a = parseIp(line.slice(0, c1)), b = parseIp(line.slice(c1 + 1, c2));
  const asn = Number(line.slice(c2 + 1, c3));
  if (!a || !b || a.version !== b.version || !Number.isInteger(asn) || asn < 0) return false;
  const org = unquote(line.slice(c3 + 1));
  if (a.version === 4) {
    if (b.v4 < a.v4) return false;
    out.v4.push({ start: [a.v4], end: [b.v4], asn, org });
  } else {
    out.v6.push({ start: [a.w0, a.w1, a.w2, a.w3], end: [b.w0, b.w1, b.w2, b.w3], asn, org });
  }
  return true;
}

/** A CSV field: `"a ""b"", c"` → `a "b", c`. */
function unquote(field: string): string {
  if (!field.startsWith('"')) return field.trim();
  return field.slice(1, field.endsWith('"') ? -1 : undefined).replaceAll('""', '"');
}
