/**
 * Built-in PII and secret detectors: a vetted JavaScript regex per detector (bounded repeats,
 * separators distinct from the repeated characters, so V8 never backtracks more than a constant
 * per start position), a checksum or structure check where one exists, and a cheap pre-check on
 * the text's shape so most fields skip most regexes. `findSpans()` returns merged match spans.
 * Pipeline worker. Pure; user patterns go through `linear_regex.ts` instead.
 * @module
 */

import { cardValid, ibanValid, ipv6Valid, jwtValid, phoneValid, ssnValid } from "./checksums.ts";

/** No built-in detector matches text shorter than this (`a@b.io`). */
export const MIN_DETECTABLE_LENGTH = 6;

/** A cheap summary of a text, computed once per field, that gates the detectors. */
export interface Shape {
  length: number;
  digits: number;
  at: boolean;
  colons: number;
  dots: number;
  /** The text holds a prefix some secret format starts with. */
  secret: boolean;
}

/** One built-in detector. */
export interface Detector {
  readonly name: string;
  /** Global (and `d` when `group` is set) regex finding candidates. */
  readonly re: RegExp;
  /** Capture group to redact instead of the whole match (e.g. the token after `Bearer `). */
  readonly group?: number;
  /** A checksum or structure check on the redacted text. */
  readonly valid?: (text: string) => boolean;
  /** Instead of `valid`: the valid part of a candidate as `[start, end)` in it, or null. */
  readonly refine?: (text: string) => [number, number] | null;
  /** Whether the detector can match a text of this shape. */
  readonly applies: (shape: Shape) => boolean;
}

/** A matched region `[start, end)` and the detector (or pattern) that found it. */
export interface Span {
  start: number;
  end: number;
  name: string;
}

const SECRET_HINT =
  /eyJ|[Bb]earer|[Bb]asic |A[KSBCGIRNP][A-Z]A|AIza|ya29\.|GOCSPX-|gh[pousr]_|github_pat_|xox[abposr]-|hooks\.slack|_live_|_test_|whsec_|PRIVATE KEY|:\/\/[^\s/]*@/;

const OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])";
const secret = (s: Shape) => s.secret;

/** Every built-in detector, by name (the names `redaction { detectors { … } }` takes). */
export const DETECTORS: readonly Detector[] = [
  {
    name: "email",
    re:
      /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.){1,8}[A-Za-z]{2,24}(?![A-Za-z0-9-])/g,
    applies: (s) => s.at,
  },
  {
    name: "card",
    re: /(?<![0-9A-Za-z])[0-9](?:[ -]?[0-9]){11,18}(?![0-9A-Za-z])/g,
    refine: cardIn,
    applies: (s) => s.digits >= 12,
  },
  {
    name: "iban",
    re:
      /(?<![A-Za-z0-9])[A-Za-z]{2}[0-9]{2}(?: ?[A-Za-z0-9]{4}){2,7}(?: ?[A-Za-z0-9]{1,3})?(?![A-Za-z0-9])/g,
    valid: ibanValid,
    applies: (s) => s.length >= 15 && s.digits >= 4,
  },
  {
    name: "ssn",
    re: /(?<![0-9-])[0-9]{3}([- ])[0-9]{2}\1[0-9]{4}(?![0-9-])/g,
    valid: ssnValid,
    applies: (s) => s.digits >= 9,
  },
  {
    name: "phone",
    re: new RegExp(
      [
        String.raw`(?<!\w)\+[1-9](?:[ .-]?\(?[0-9]\)?){6,14}(?![0-9])`,
        String
          .raw`(?<![\w])(?:1[ .-]?)?\(?[2-9][0-9]{2}\)?[ .-]?[2-9][0-9]{2}[ .-][0-9]{4}(?![0-9])`,
        String.raw`(?<![\w])0[1-9][0-9]{1,3}[ -][0-9]{3,4}[ -]?[0-9]{3,4}(?![0-9])`,
        String.raw`(?<![\w])0[1-9](?:[ .][0-9]{2}){4}(?![0-9])`,
      ].join("|"),
      "g",
    ),
    valid: phoneValid,
    applies: (s) => s.digits >= 7,
  },
  {
    name: "jwt",
    re: /eyJ[A-Za-z0-9_-]{2,}\.eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*/g,
    valid: jwtValid,
    applies: secret,
  },
  {
    name: "bearer",
    re: /\b(?:[Bb]earer|[Bb]asic)\s+([A-Za-z0-9._~+/-]{8,}=*)/dg,
    group: 1,
    applies: secret,
  },
  {
    name: "aws-key",
    re:
      /(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[A-Z0-9]{16}(?![A-Z0-9])/g,
    applies: secret,
  },
  {
    name: "gcp-key",
    re: /AIza[0-9A-Za-z_-]{35}|ya29\.[0-9A-Za-z_-]{20,}|GOCSPX-[0-9A-Za-z_-]{28}/g,
    applies: secret,
  },
  {
    name: "github-token",
    re: /gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255}/g,
    applies: secret,
  },
  {
    name: "slack-token",
    re: /xox[abposr]-[A-Za-z0-9-]{10,250}|hooks\.slack\.com\/services\/[A-Za-z0-9_/-]{20,}/g,
    applies: secret,
  },
  {
    name: "stripe-key",
    re: /(?:sk|rk|pk)_(?:live|test)_[0-9A-Za-z]{10,247}|whsec_[0-9A-Za-z]{20,}/g,
    applies: secret,
  },
  {
    name: "private-key",
    re:
      /-----BEGIN [A-Z ]{0,30}PRIVATE KEY-----[\s\S]{0,16384}?(?:-----END [A-Z ]{0,30}PRIVATE KEY-----|$)/g,
    applies: secret,
  },
  {
    name: "url-credentials",
    re: /\b[A-Za-z][A-Za-z0-9+.-]{1,20}:\/\/([^\s/?#@:]{1,256}:[^\s/?#@]{1,256})@/dg,
    group: 1,
    applies: secret,
  },
  {
    name: "ipv4",
    re: new RegExp(
      String.raw`(?<![0-9A-Za-z.])(?<![A-Za-z0-9_]/)(?:${OCTET}\.){3}${OCTET}(?![0-9]|\.[0-9])`,
      "g",
    ),
    applies: (s) => s.dots >= 3 && s.digits >= 4,
  },
  {
    name: "ipv6",
    re:
      /(?<![0-9A-Za-z:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:(?<=:)[0-9]{1,3}(?:\.[0-9]{1,3}){3})?(?![0-9A-Za-z:])/g,
    valid: ipv6Valid,
    applies: (s) => s.colons >= 2,
  },
];

/**
 * The card inside a digit run: the whole run, or (when separators split it into groups, as in
 * `4111 1111 1111 1111 12 26`) the longest run of whole groups that is a valid card.
 */
function cardIn(run: string): [number, number] | null {
  const groups: [number, number][] = [];
  const re = /[0-9]+/g;
  for (let m = re.exec(run); m !== null; m = re.exec(run)) {
    groups.push([m.index, m.index + m[0].length]);
  }
  let best: [number, number] | null = null;
  for (let i = 0; i < groups.length; i++) {
    for (let j = groups.length - 1; j >= i; j--) {
      const [s, e] = [groups[i][0], groups[j][1]];
      if (best && e - s <= best[1] - best[0]) continue;
      if (groupsOk(groups, i, j) && cardValid(run.slice(s, e))) best = [s, e];
    }
  }
  return best;
}

/** Printed card numbers group digits by 3 or more (4-4-4-4, 4-6-5); `50-8711` is not a card. */
function groupsOk(groups: [number, number][], i: number, j: number): boolean {
  for (let k = i; k <= j; k++) if (groups[k][1] - groups[k][0] < 3) return false;
  return true;
}

/** The shape of `text` (one pass over its code units, plus one regex test for secret prefixes). */
export function shapeOf(text: string): Shape {
  let digits = 0, colons = 0, dots = 0, at = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
    else if (c === 58) colons++;
    else if (c === 46) dots++;
    else if (c === 64) at = true;
  }
  const secret = text.length >= 8 && SECRET_HINT.test(text);
  return { length: text.length, digits, at, colons, dots, secret };
}

/** Spans the detectors find in `text`, unsorted and possibly overlapping. */
export function detect(text: string, detectors: readonly Detector[], out: Span[]): void {
  const shape = shapeOf(text);
  for (const d of detectors) {
    if (!d.applies(shape)) continue;
    d.re.lastIndex = 0;
    for (let m = d.re.exec(text); m !== null; m = d.re.exec(text)) {
      let start = m.index, end = m.index + m[0].length;
      if (d.group !== undefined) {
        const g = m.indices?.[d.group];
        if (!g) continue;
        [start, end] = g;
      }
      if (d.refine) {
        const r = d.refine(text.slice(start, end));
        if (r) out.push({ start: start + r[0], end: start + r[1], name: d.name });
      } else if (end > start && (!d.valid || d.valid(text.slice(start, end)))) {
        out.push({ start, end, name: d.name });
      }
      if (m[0].length === 0) d.re.lastIndex++;
    }
  }
}

/** Sort spans and merge overlapping ones (a merged span keeps the first one's name). */
export function mergeSpans(spans: Span[]): Span[] {
  if (spans.length < 2) return spans;
  spans.sort((a, b) => a.start - b.start || b.end - a.end);
  const out: Span[] = [spans[0]];
  for (let i = 1; i < spans.length; i++) {
    const last = out[out.length - 1], s = spans[i];
    if (s.start < last.end) {
      if (s.end > last.end) out[out.length - 1] = { ...last, end: s.end };
    } else out.push(s);
  }
  return out;
}
