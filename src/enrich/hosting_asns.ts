/**
 * The curated hosting/cloud ASN list (`geo-data/hosting-asns.txt`): one AS number a line, as
 * `15169` or `AS15169`, anything after it (the organisation's name) and `#` comments ignored.
 * Feeds `threat.is_hosting`. Pure parsing; throws `DataFileError` for a file with no AS number.
 * @module
 */

import { DataFileError } from "./errors.ts";

/** The AS numbers in a hosting list's text. */
export function parseHostingAsns(text: string, file: string): Set<number> {
  const out = new Set<number>();
  let bad = 0;
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*/, "").trim();
    if (line === "") continue;
    const m = /^(?:AS)?(\d{1,10})\b/i.exec(line);
    const n = m ? Number(m[1]) : NaN;
    if (Number.isInteger(n) && n > 0 && n <= 0xffffffff) out.add(n);
    else bad++;
  }
  if (out.size === 0) throw new DataFileError("enrich_data_invalid", file, "no AS number found");
  if (bad > 0) {
    throw new DataFileError("enrich_data_invalid", file, `${bad} lines are not an AS number`);
  }
  return out;
}
