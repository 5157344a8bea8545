/**
 * Turns a request path into its template for grouping and ML: each segment that is a value rather
 * than a name becomes a typed placeholder — `{int}`, `{uuid}`, `{hash}` (hex of 16+ digits),
 * `{email}`, `{date}`, `{ip}`, `{token}` (long opaque ids) — keeping a file extension and a word
 * prefix (`order-123` → `order-{int}`, `42.json` → `{int}.json`). Pure function.
 * @module
 */

import { parseIp } from "./ip.ts";

/** Longest path templated; the rest is cut and marked with `…`. */
const MAX_PATH = 2048;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const HEX = /^(?:0x)?[0-9a-f]{16,}$/i;
const EMAIL = /^[^@\s/]+(?:@|%40)[^@\s/]+\.[a-z]{2,}$/i;
const DATE =
  /^(?:19|20)\d\d-?(?:0[1-9]|1[0-2])-?(?:0[1-9]|[12]\d|3[01])(?:[T_ ]\d\d(?::?\d\d(?::?\d\d(?:\.\d+)?)?)?(?:Z|[+-]\d\d:?\d\d)?)?$/i;
const INT = /^[+-]?\d+$/;
const TOKEN = /^[A-Za-z0-9_=~.-]{20,}$/;
const PREFIXED = /^([A-Za-z][A-Za-z_]*[-_])(\d{2,}|[0-9a-f]{16,})$/i;
const EXT = /^(.+)\.([A-Za-z][A-Za-z0-9]{0,4})$/;

/** The template of `path` (the part of the URI before `?`). */
export function pathTemplate(path: string): string {
  const cut = path.length > MAX_PATH;
  const parts = (cut ? path.slice(0, MAX_PATH) : path).split("/");
  for (let i = 0; i < parts.length; i++) {
    if (parts[i] !== "") parts[i] = segment(parts[i]);
  }
  return parts.join("/") + (cut ? "…" : "");
}

function segment(s: string): string {
  if (isPlainName(s)) return s;
  const whole = placeholder(s);
  if (whole) return whole;
  const ext = EXT.exec(s);
  if (ext) {
    const stem = placeholder(ext[1]);
    if (stem) return `${stem}.${ext[2]}`;
  }
  const pre = PREFIXED.exec(s);
  if (pre) return `${pre[1]}${INT.test(pre[2]) ? "{int}" : "{hash}"}`;
  return s;
}

function placeholder(s: string): string | null {
  const c = s.charCodeAt(0);
  const digitFirst = c >= 48 && c <= 57;
  if (digitFirst && DATE.test(s)) return "{date}";
  if (INT.test(s)) return "{int}";
  if (s.length === 36 && UUID.test(s)) return "{uuid}";
  if (s.length >= 16 && HEX.test(s) && /\d/.test(s)) return "{hash}";
  if (s.indexOf("@") > 0 || s.indexOf("%40") > 0) return EMAIL.test(s) ? "{email}" : null;
  if ((digitFirst || s.indexOf(":") >= 0) && parseIp(s.replace(/%3a/gi, ":")) !== null) {
    return "{ip}";
  }
  if (s.length >= 20 && TOKEN.test(s) && looksRandom(s)) return "{token}";
  return null;
}

/**
 * A short segment with no digit, `@`, `%` or `:` can match no placeholder (each needs a digit, a
 * long hex run, an `@` or an IPv6 colon), so the regular expressions are skipped for it: most path
 * segments are such names (`api`, `users`, `index.html`).
 */
function isPlainName(s: string): boolean {
  if (s.length >= 16) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 48 && c <= 58) || c === 64 || c === 37) return false; // 0-9 and ':', '@', '%'
  }
  return true;
}

/** Opaque ids mix digits and letters and are not hyphenated words. */
function looksRandom(s: string): boolean {
  let digits = 0, letters = 0, dashes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
    else if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122)) letters++;
    else if (c === 45) dashes++;
  }
  return digits >= 2 && letters >= 2 && dashes <= 1;
}
