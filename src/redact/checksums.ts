/**
 * Checksums and structure checks that cut detector false positives: Luhn plus issuer prefix and
 * length for payment cards, ISO 13616 length and mod-97 for IBANs, SSA rules for US SSNs, group
 * rules for IPv6. Pure functions on the matched text; pipeline worker.
 * @module
 */

/** Digits of `s` (separators dropped). */
export function digitsOf(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) out += s[i];
  }
  return out;
}

/** Luhn (mod 10) check over a digit string. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/** Issuer prefixes (IIN ranges) and the lengths each scheme issues. */
const CARD_SCHEMES: { lo: number; hi: number; digits: number; lengths: number[] }[] = [
  { lo: 4, hi: 4, digits: 1, lengths: [13, 16, 19] }, // Visa
  { lo: 51, hi: 55, digits: 2, lengths: [16] }, // Mastercard
  { lo: 2221, hi: 2720, digits: 4, lengths: [16] }, // Mastercard 2-series
  { lo: 34, hi: 34, digits: 2, lengths: [15] }, // Amex
  { lo: 37, hi: 37, digits: 2, lengths: [15] },
  { lo: 6011, hi: 6011, digits: 4, lengths: [16, 19] }, // Discover
  { lo: 644, hi: 649, digits: 3, lengths: [16, 19] },
  { lo: 65, hi: 65, digits: 2, lengths: [16, 19] },
  { lo: 3528, hi: 3589, digits: 4, lengths: [16, 19] }, // JCB
  { lo: 300, hi: 305, digits: 3, lengths: [14] }, // Diners
  { lo: 36, hi: 36, digits: 2, lengths: [14] },
  { lo: 38, hi: 39, digits: 2, lengths: [14, 16] },
  { lo: 62, hi: 62, digits: 2, lengths: [16, 17, 18, 19] }, // UnionPay
  { lo: 50, hi: 50, digits: 2, lengths: [12, 13, 14, 15, 16, 17, 18, 19] }, // Maestro
  { lo: 56, hi: 58, digits: 2, lengths: [12, 13, 14, 15, 16, 17, 18, 19] },
  { lo: 6304, hi: 6304, digits: 4, lengths: [12, 13, 14, 15, 16, 17, 18, 19] },
  { lo: 67, hi: 67, digits: 2, lengths: [12, 13, 14, 15, 16, 17, 18, 19] },
  { lo: 2200, hi: 2204, digits: 4, lengths: [16, 17, 18, 19] }, // Mir
];

/** A payment card number: a known issuer prefix, a length that issuer uses, and Luhn. */
export function cardValid(text: string): boolean {
  const d = digitsOf(text);
  if (d.length < 12 || d.length > 19) return false;
  const scheme = CARD_SCHEMES.some((s) => {
    const p = Number(d.slice(0, s.digits));
    return p >= s.lo && p <= s.hi && s.lengths.includes(d.length);
  });
  return scheme && luhnValid(d);
}

/** IBAN length per country (ISO 13616 registry). */
const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24,
  AE: 23,
  AL: 28,
  AT: 20,
  AZ: 28,
  BA: 20,
  BE: 16,
  BG: 22,
  BH: 22,
  BR: 29,
  BY: 28,
  CH: 21,
  CR: 22,
  CY: 28,
  CZ: 24,
  DE: 22,
  DK: 18,
  DO: 28,
  EE: 20,
  EG: 29,
  ES: 24,
  FI: 18,
  FO: 18,
  FR: 27,
  GB: 22,
  GE: 22,
  GI: 23,
  GL: 18,
  GR: 27,
  GT: 28,
  HR: 21,
  HU: 28,
  IE: 22,
  IL: 23,
  IQ: 23,
  IS: 26,
  IT: 27,
  JO: 30,
  KW: 30,
  KZ: 20,
  LB: 28,
  LC: 32,
  LI: 21,
  LT: 20,
  LU: 20,
  LV: 21,
  MC: 27,
  MD: 24,
  ME: 22,
  MK: 19,
  MR: 27,
  MT: 31,
  MU: 30,
  NL: 18,
  NO: 15,
  PK: 24,
  PL: 28,
  PS: 29,
  PT: 25,
  QA: 29,
  RO: 24,
  RS: 22,
  SA: 24,
  SC: 31,
  SE: 24,
  SI: 19,
  SK: 24,
  SM: 27,
  ST: 25,
  SV: 28,
  TL: 23,
  TN: 24,
  TR: 26,
  UA: 29,
  VA: 22,
  VG: 24,
  XK: 20,
}; // deno-fmt-ignore

/** An IBAN: registered country, that country's length, and mod-97 = 1. Spaces allowed. */
export function ibanValid(text: string): boolean {
  const s = text.replace(/ /g, "").toUpperCase();
  const len = IBAN_LENGTHS[s.slice(0, 2)];
  if (len === undefined || s.length !== len || !/^[A-Z]{2}[0-9]{2}[A-Z0-9]+$/.test(s)) {
    return false;
  }
  const moved = s.slice(4) + s.slice(0, 4);
  let rem = 0;
  for (let i = 0; i < moved.length; i++) {
    const c = moved.charCodeAt(i);
    const v = c <= 57 ? c - 48 : c - 55;
    rem = v >= 10 ? (rem * 100 + v) % 97 : (rem * 10 + v) % 97;
  }
  return rem === 1;
}

/** A US SSN `AAA-GG-SSSS`: area not 000, 666 or 9xx; group not 00; serial not 0000. */
export function ssnValid(text: string): boolean {
  const d = digitsOf(text);
  if (d.length !== 9) return false;
  const area = Number(d.slice(0, 3));
  return area !== 0 && area !== 666 && area < 900 && d.slice(3, 5) !== "00" &&
    d.slice(5) !== "0000";
}

/** A phone number: 7 to 15 digits (E.164's limit), not all the same digit. */
export function phoneValid(text: string): boolean {
  const d = digitsOf(text);
  return d.length >= 7 && d.length <= 15 && !/^(\d)\1+$/.test(d);
}

/** An IPv6 address (groups checked; an embedded IPv4 tail allowed), not a time or a MAC. */
export function ipv6Valid(text: string): boolean {
  let s = text;
  let groupsFromV4 = 0;
  const v4 = /:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(s);
  if (v4) {
    if (!v4[1].split(".").every((o) => Number(o) <= 255)) return false;
    s = s.slice(0, v4.index + 1) + "0:0";
    groupsFromV4 = 0;
  }
  const halves = s.split("::");
  if (halves.length > 2) return false;
  const groups = halves.map((h) => (h === "" ? [] : h.split(":")));
  if (groups.some((g) => g.some((x) => !/^[0-9A-Fa-f]{1,4}$/.test(x)))) return false;
  const n = groups.reduce((a, g) => a + g.length, groupsFromV4);
  return halves.length === 2 ? n <= 7 : n === 8;
}

/** A JWT: three base64url parts whose first decodes to a JSON header with `alg`. */
export function jwtValid(text: string): boolean {
  const head = text.slice(0, text.indexOf("."));
  try {
    const json = atob(
      head.replace(/-/g, "+").replace(/_/g, "/").padEnd(
        Math.ceil(head.length / 4) * 4,
        "=",
      ),
    );
    return /"alg"\s*:/.test(json) || /"typ"\s*:/.test(json);
  } catch {
    return false; // not base64: not a JWT header
  }
}
