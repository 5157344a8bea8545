/**
 * A seeded corpus for leak tests: valid PII and secrets of every detector kind (checksums
 * computed, so cards pass Luhn and IBANs pass mod-97), planted in request paths, query strings and
 * headers, next to non-PII control values (UUIDs, order numbers, timestamps, version strings)
 * that must survive. Also the forms a leak could take (raw, percent-encoded, digits only, lower
 * case, unkeyed hashes). Test-only helper.
 * @module
 */

import { createHash } from "node:crypto";
import { rng } from "../helpers/rng.ts";

export type Kind =
  | "email"
  | "card"
  | "iban"
  | "ssn"
  | "phone"
  | "jwt"
  | "bearer"
  | "aws-key"
  | "gcp-key"
  | "github-token"
  | "slack-token"
  | "stripe-key"
  | "ipv4"
  | "ipv6"
  | "sensitive-value"
  | "credential-header"
  | "client-ip";

/** A planted value and where it went. */
export interface Planted {
  kind: Kind;
  value: string;
  where: string;
}

/** One synthetic request: what to send, what was planted, which controls must survive. */
export interface CorpusRequest {
  method: string;
  uri: string;
  headers: Record<string, string[]>;
  clientIp: string;
  planted: Planted[];
  controls: string[];
}

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const UPPER_NUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const FIRST = ["john", "maria", "li", "fatima", "olga", "pierre", "aiko", "kwame", "sofia", "raj"];
const LAST = ["doe", "garcia", "wang", "khan", "ivanova", "martin", "sato", "mensah", "rossi"];
const DOMAINS = ["example.com", "mail.example.org", "corp.example.net", "uni.example.edu"];

export class Corpus {
  readonly #r: () => number;
  constructor(seed = 42) {
    this.#r = rng(seed);
  }

  int(lo: number, hi: number): number {
    return lo + Math.floor(this.#r() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.#r() * xs.length)];
  }
  chars(set: string, n: number): string {
    let s = "";
    for (let i = 0; i < n; i++) s += set[Math.floor(this.#r() * set.length)];
    return s;
  }
  digits(n: number): string {
    return this.chars("0123456789", n);
  }

  email(): string {
    const local = `${this.pick(FIRST)}.${this.pick(LAST)}${this.int(1, 9999)}`;
    const v = `${local}@${this.pick(DOMAINS)}`;
    return this.#r() < 0.2 ? v.toUpperCase() : v;
  }

  card(): string {
    const [prefix, len] = this.pick(
      [["4", 16], ["51", 16], ["55", 16], ["37", 15], ["6011", 16], ["3530", 16], ["2221", 16], [
        "4",
        13,
      ]] as [string, number][],
    );
    let body = prefix + this.digits(len - prefix.length - 1);
    body += luhnDigit(body);
    const style = this.int(0, 2);
    if (style === 0 || len !== 16) return body;
    return body.match(/.{4}/g)!.join(style === 1 ? " " : "-");
  }

  iban(): string {
    const [cc, bban] = this.pick([
      ["DE", () => this.digits(18)],
      ["GB", () => this.chars("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 4) + this.digits(14)],
      ["FR", () => this.digits(23)],
      ["NL", () => this.chars("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 4) + this.digits(10)],
      ["ES", () => this.digits(20)],
    ] as [string, () => string][]);
    const b = bban();
    const check = String(98 - mod97(b + cc + "00")).padStart(2, "0");
    const iban = cc + check + b;
    return this.#r() < 0.3 ? iban.match(/.{1,4}/g)!.join(" ") : iban;
  }

  ssn(): string {
    let area = this.int(1, 899);
    if (area === 666) area = 667;
    return `${String(area).padStart(3, "0")}-${String(this.int(1, 99)).padStart(2, "0")}-${
      String(this.int(1, 9999)).padStart(4, "0")
    }`;
  }

  phone(): string {
    switch (this.int(0, 5)) {
      case 0:
        return `+1${this.int(201, 989)}${this.int(200, 999)}${this.digits(4)}`;
      case 1:
        return `+44 20 ${this.int(7000, 8999)} ${this.digits(4)}`;
      case 2:
        return `(${this.int(201, 989)}) ${this.int(200, 999)}-${this.digits(4)}`;
      case 3:
        return `${this.int(201, 989)}-${this.int(200, 999)}-${this.digits(4)}`;
      case 4:
        return `06 ${this.digits(2)} ${this.digits(2)} ${this.digits(2)} ${this.digits(2)}`;
      default:
        return `+49 30 ${this.digits(8)}`;
    }
  }

  jwt(): string {
    const b64 = (o: unknown) =>
      btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-")
        .replace(/\//g, "_");
    return `${b64({ alg: "HS256", typ: "JWT" })}.${b64({ sub: this.chars(ALNUM, 10), iat: 1 })}.${
      this.chars(ALNUM + "-_", 43)
    }`;
  }

  bearerToken(): string {
    return this.chars(ALNUM + "._-", 32);
  }
  awsKey(): string {
    return "AKIA" + this.chars(UPPER_NUM, 16);
  }
  gcpKey(): string {
    return "AIza" + this.chars(ALNUM + "_-", 35);
  }
  githubToken(): string {
    return "ghp_" + this.chars(ALNUM, 36);
  }
  slackToken(): string {
    return `xoxb-${this.digits(12)}-${this.digits(12)}-${this.chars(ALNUM, 24)}`;
  }
  stripeKey(): string {
    return "sk_live_" + this.chars(ALNUM, 24);
  }
  ipv4(): string {
    return `${this.int(11, 223)}.${this.int(0, 255)}.${this.int(0, 255)}.${this.int(1, 254)}`;
  }
  ipv6(): string {
    const g = () => this.int(1, 0xffff).toString(16);
    return this.#r() < 0.5
      ? `2001:db8:${g()}:${g()}::${g()}`
      : `2a03:${g()}:${g()}:${g()}:${g()}:${g()}:${g()}:${g()}`;
  }
  secret(): string {
    return "s3cr" + this.chars(ALNUM, 16);
  }

  uuid(): string {
    const h = this.chars("0123456789abcdef", 32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${
      h.slice(20)
    }`;
  }
  control(): string {
    switch (this.int(0, 7)) {
      case 0:
        return this.uuid();
      case 1:
        return `ORD-2026-${this.digits(6)}`;
      case 2:
        return `INV${this.digits(8)}`;
      case 3:
        return String(this.int(1_000_000, 9_999_999_999));
      case 4:
        return `2026-0${this.int(1, 9)}-${String(this.int(10, 28))}T${this.int(10, 23)}:${
          this.int(10, 59)
        }:${this.int(10, 59)}.${this.digits(3)}Z`;
      case 5:
        return String(1_700_000_000_000 + this.int(0, 99_999_999));
      case 6:
        return `${this.int(0, 20)}.${this.int(0, 40)}.${this.int(0, 99)}`;
      default:
        return this.pick([
          `v${this.int(1, 9)}.${this.int(0, 20)}.${this.int(0, 9)}-beta.${this.int(1, 9)}`,
          `10.0.${this.int(10000, 22000)}.${this.int(1, 999)}`,
          `${this.int(1, 9)}.${this.int(0, 9)}.${this.int(0, 9)}-rc${this.int(1, 5)}`,
        ]);
    }
  }

  /** One request with about a dozen planted values and a handful of controls. */
  request(i: number): CorpusRequest {
    const planted: Planted[] = [];
    const controls: string[] = [];
    const plant = (kind: Kind, value: string, where: string) => {
      planted.push({ kind, value, where });
      return value;
    };
    const ctl = () => {
      const c = this.control();
      controls.push(c);
      return c;
    };
    const [pathKind, pathValue] = this.pick([
      ["email", () => this.email()],
      ["card", () => this.card().replace(/ /g, "-")],
      ["ipv4", () => this.ipv4()],
      ["ssn", () => this.ssn()],
    ] as [Kind, () => string][]);
    const p1 = plant(pathKind, pathValue(), "path");
    const p2 = plant("sensitive-value", this.secret(), "path");
    const path = `/api/v${this.int(1, 3)}/users/${enc(p1)}/orders/${ctl()}/reset-password/${p2}`;
    const q: string[] = [
      `email=${enc(plant("email", this.email(), "query"))}`,
      `pay=${enc(plant("card", this.card(), "query"))}`,
      `acct=${enc(plant("iban", this.iban(), "query"))}`,
      `note=${enc("ssn " + plant("ssn", this.ssn(), "query"))}`,
      `contact=${enc(plant("phone", this.phone(), "query"))}`,
      `password=${enc(plant("sensitive-value", this.secret(), "query"))}`,
      `access_token=${plant("sensitive-value", this.secret(), "query")}`,
      `order=${ctl()}`,
      `ts=${ctl()}`,
      `v=${ctl()}`,
    ];
    const keyKind = this.pick(
      ["aws-key", "gcp-key", "github-token", "slack-token", "stripe-key"] as const,
    );
    const keyValue = {
      "aws-key": () => this.awsKey(),
      "gcp-key": () => this.gcpKey(),
      "github-token": () => this.githubToken(),
      "slack-token": () => this.slackToken(),
      "stripe-key": () => this.stripeKey(),
    }[keyKind]();
    q.push(`cfg=${enc("k " + plant(keyKind, keyValue, "query"))}`);
    const jwt = plant("jwt", this.jwt(), "referer");
    const referer = `https://app.example.com/cb?next=${
      enc("/home?id=" + ctl())
    }#id_token=${jwt}&x=1`;
    const ua = `Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0.0.0 Safari/537.36 MyApp/${ctl()} ` +
      `(crawler; +mailto:${plant("email", this.email(), "user-agent")}; from ${
        plant("ipv6", this.ipv6(), "user-agent")
      } via ${plant("ipv4", this.ipv4(), "user-agent")})`;
    const bearer = plant("credential-header", this.bearerToken(), "authorization");
    const cookie = plant("credential-header", this.secret(), "cookie");
    const apiKey = plant("credential-header", this.secret(), "x-api-key");
    const clientIp = plant("client-ip", this.ipv4(), "client_ip");
    return {
      method: this.pick(["GET", "POST", "PUT"]),
      uri: `${path}?${q.join("&")}&i=${i}`,
      headers: {
        host: ["shop.example.com"],
        "user-agent": [ua],
        referer: [referer],
        accept: ["application/json"],
        authorization: [`Bearer ${bearer}`],
        cookie: [`session=${cookie}; theme=dark`],
        "x-api-key": [apiKey],
      },
      clientIp,
      planted,
      controls,
    };
  }
}

/** Percent-encode like a browser's query (space as %20). */
export function enc(s: string): string {
  return encodeURIComponent(s);
}

function luhnDigit(body: string): string {
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let d = Number(body[body.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return String((10 - (sum % 10)) % 10);
}

function mod97(s: string): number {
  let rem = 0;
  for (const ch of s) {
    const v = /[0-9]/.test(ch) ? Number(ch) : ch.charCodeAt(0) - 55;
    rem = v >= 10 ? (rem * 100 + v) % 97 : (rem * 10 + v) % 97;
  }
  return rem;
}

/** Every form in which `p` would count as leaked. */
export function leakForms(p: Planted): string[] {
  const v = p.value;
  const forms = new Set([v, enc(v), v.toLowerCase(), v.toUpperCase()]);
  const digits = v.replace(/[^0-9]/g, "");
  if (["card", "phone", "ssn"].includes(p.kind) && digits.length >= 9) forms.add(digits);
  if (p.kind === "iban") forms.add(v.replace(/ /g, ""));
  for (const alg of ["sha256", "sha1", "md5"]) {
    for (const x of new Set([v, v.toLowerCase(), digits])) {
      if (x.length < 6) continue;
      const h = createHash(alg).update(x);
      const buf = h.digest();
      forms.add(buf.toString("hex"));
      forms.add(buf.toString("base64"));
      forms.add(buf.toString("base64url"));
    }
  }
  return [...forms].filter((f) => f.length >= 6);
}

/** Planted values found in `output` (in any leak form). */
export function findLeaks(output: string, planted: readonly Planted[]): Planted[] {
  return planted.filter((p) => leakForms(p).some((f) => output.includes(f)));
}
