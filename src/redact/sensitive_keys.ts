/**
 * Decides whether a query, form or path key names a secret (`password`, `access_token`,
 * `apiKey`, `X-Amz-Signature`, …): the key is split into words (separators and camelCase), and
 * it is sensitive when a word is a sensitive word, or the words joined are a sensitive name.
 * Pipeline worker. Pure apart from a bounded memo of recent keys.
 * @module
 */

/** Words that make a key sensitive wherever they appear in it (`access_token`, `userPassword`). */
export const SENSITIVE_WORDS: readonly string[] = [
  "password",
  "passwd",
  "pwd",
  "pass",
  "passphrase",
  "secret",
  "token",
  "key",
  "apikey",
  "session",
  "sessionid",
  "sid",
  "auth",
  "authorization",
  "credential",
  "credentials",
  "signature",
  "sig",
  "jwt",
  "otp",
  "pin",
  "cvv",
  "cvc",
  "ssn",
  "bearer",
  "cookie",
  "privatekey",
  "accesskey",
  "clientsecret",
  "saml",
  "samlresponse",
];

/** Names that are sensitive only as the whole key (`code`, but not `country_code`). */
export const SENSITIVE_WHOLE_KEYS: readonly string[] = [
  "code",
  "authcode",
  "authorizationcode",
  "verificationcode",
  "smscode",
  "state",
  "ticket",
];

/** Words that name a secret as a path segment: `/reset-password/<value>`, `/token/<value>`. */
export const SENSITIVE_PATH_WORDS: readonly string[] = [
  "password",
  "passwd",
  "secret",
  "token",
  "key",
  "apikey",
  "session",
  "sessionid",
  "jwt",
  "otp",
  "signature",
  "credential",
  "credentials",
  "resetpassword",
  "resettoken",
  "accesstoken",
  "refreshtoken",
  "magiclink",
];

const MEMO_LIMIT = 4096;

/** A key as lowercase words: `X-Amz-Signature` → x amz signature, `apiKey` → api key. */
export function keyWords(key: string): string[] {
  return key.replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase().split(/[^a-z0-9]+/).filter(
    (w) => w !== "",
  );
}

/** Matches sensitive key names; extra words come from config (`sensitive-keys`) and presets. */
export class KeyMatcher {
  readonly #words: Set<string>;
  readonly #whole: Set<string>;
  readonly #pathWords: Set<string>;
  readonly #memo = new Map<string, boolean>();
  readonly #pathMemo = new Map<string, boolean>();

  constructor(extra: readonly string[] = []) {
    const norm = extra.map((w) => keyWords(w).join(""));
    this.#words = new Set([...SENSITIVE_WORDS, ...norm]);
    this.#whole = new Set([...SENSITIVE_WHOLE_KEYS, ...norm]);
    this.#pathWords = new Set([...SENSITIVE_PATH_WORDS, ...norm]);
  }

  /** Whether the value of key `key` is a secret. */
  matches(key: string): boolean {
    let hit = this.#memo.get(key);
    if (hit !== undefined) return hit;
    const words = keyWords(key);
    const joined = words.join("");
    hit = this.#whole.has(joined) || this.#words.has(joined) ||
      words.some((w) => this.#words.has(w));
    if (this.#memo.size >= MEMO_LIMIT) this.#memo.clear();
    this.#memo.set(key, hit);
    return hit;
  }

  /** Whether a path segment names a secret that the next segment holds. */
  namesPathSecret(segment: string): boolean {
    if (segment.length < 3 || segment.length > 40) return false;
    let hit = this.#pathMemo.get(segment);
    if (hit !== undefined) return hit;
    hit = this.#pathWords.has(keyWords(segment).join(""));
    if (this.#pathMemo.size >= MEMO_LIMIT) this.#pathMemo.clear();
    this.#pathMemo.set(segment, hit);
    return hit;
  }
}
