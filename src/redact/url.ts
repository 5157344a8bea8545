/**
 * Redacts the parts of a URL: query strings (values of sensitive keys by the key action, every
 * other key and value scanned), paths (each segment scanned; `;k=v` matrix parameters as query
 * parameters; the segment after one naming a secret, as in `/reset-password/<token>`, by the
 * key action), and whole URLs (userinfo, host, path, query and a `#k=v` fragment, as OAuth's
 * implicit flow sends tokens). Everything not redacted is kept as sent. Pipeline worker.
 * @module
 */

import type { RedactAction } from "../config/types.ts";
import type { KeyMatcher } from "./sensitive_keys.ts";
import type { Memo, TextScrubber } from "./text.ts";

/** The rule name counted for a sensitive key's value. */
export const SENSITIVE_KEY_RULE = "sensitive-key";

/** URL-part redaction with one scrubber, key matcher and key action. */
export class UrlScrubber {
  readonly #text: TextScrubber;
  readonly #keys: KeyMatcher;
  readonly #keyAction: RedactAction;
  readonly #queries: Memo = new Map();
  readonly #paths: Memo = new Map();
  readonly #urls: Memo = new Map();

  constructor(text: TextScrubber, keys: KeyMatcher, keyAction: RedactAction) {
    this.#text = text;
    this.#keys = keys;
    this.#keyAction = keyAction;
  }

  /** A query string (without `?`); `&`-separated `key=value` pairs. */
  query(q: string): string {
    return q === "" ? q : this.#text.memoized(this.#queries, q, (x) => this.#query(x));
  }

  #query(q: string): string {
    const out: string[] = [];
    for (const part of q.split("&")) {
      const p = this.#param(part);
      if (p !== null) out.push(p);
    }
    return out.join("&");
  }

  /** One `key=value` (or bare `key`); null when the key action drops it. */
  #param(part: string): string | null {
    const eq = part.indexOf("=");
    if (eq < 0) return this.#text.scan(part);
    const rawKey = part.slice(0, eq), rawValue = part.slice(eq + 1);
    const key = this.#text.scan(rawKey);
    if (rawValue === "") return `${key}=`;
    if (this.#keys.matches(decodeKey(rawKey))) {
      const v = this.#text.whole(this.#keyAction, SENSITIVE_KEY_RULE, decodeKey(rawValue));
      return v === null ? null : `${key}=${v}`;
    }
    return `${key}=${this.#text.scan(rawValue)}`;
  }

  /** A path: segments scanned, matrix parameters and secret-named segments handled. */
  path(p: string): string {
    return p === "" || p === "/" ? p : this.#text.memoized(this.#paths, p, (x) => this.#path(x));
  }

  #path(p: string): string {
    const segs = p.split("/");
    let changed = false;
    for (let i = 0; i < segs.length; i++) {
      const seg = segs[i];
      if (seg === "") continue;
      let next: string;
      if (i > 0 && this.#keys.namesPathSecret(decodeKey(segs[i - 1]))) {
        next = this.#text.whole(this.#keyAction, SENSITIVE_KEY_RULE, decodeKey(seg)) ?? "";
      } else if (seg.includes(";")) {
        const [head, ...params] = seg.split(";");
        next = [this.#text.scan(head), ...params.map((x) => this.#param(x) ?? "")].join(";");
      } else next = this.#text.scan(seg);
      if (next !== seg) {
        segs[i] = next;
        changed = true;
      }
    }
    return changed ? segs.join("/") : p;
  }

  /** A whole URL (referer, origin), absolute or relative. */
  url(u: string): string {
    return this.#text.memoized(this.#urls, u, (x) => this.#url(x));
  }

  #url(u: string): string {
    const m = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^/?#]*)/.exec(u);
    let head = "", rest = u;
    if (m) {
      head = m[1] + this.#authority(m[2]);
      rest = u.slice(m[0].length);
    }
    const hash = rest.indexOf("#");
    const fragment = hash < 0 ? undefined : rest.slice(hash + 1);
    if (hash >= 0) rest = rest.slice(0, hash);
    const q = rest.indexOf("?");
    const path = q < 0 ? rest : rest.slice(0, q);
    let out = head + this.path(path);
    if (q >= 0) out += "?" + this.query(rest.slice(q + 1));
    if (fragment !== undefined) {
      out += "#" + (fragment.includes("=") ? this.query(fragment) : this.#text.scan(fragment));
    }
    return out;
  }

  /** `user:pass@host:port`: userinfo by the key action, host scanned. */
  #authority(a: string): string {
    const at = a.lastIndexOf("@");
    if (at < 0) return this.#text.scan(a);
    const info = this.#text.whole(this.#keyAction, "url-credentials", a.slice(0, at));
    return `${info === null ? "" : info + "@"}${this.#text.scan(a.slice(at + 1))}`;
  }
}

/** Percent-decode a key (and `+` as space); malformed escapes stay as written. */
export function decodeKey(s: string): string {
  if (s.indexOf("%") < 0 && s.indexOf("+") < 0) return s;
  try {
    return decodeURIComponent(s.replace(/\+/g, " "));
  } catch {
    return s; // malformed percent-encoding: matched as sent
  }
}
