import assert from "node:assert/strict";
import {
  cardValid,
  ibanValid,
  ipv6Valid,
  luhnValid,
  phoneValid,
  ssnValid,
} from "../../src/redact/checksums.ts";
import { detect, DETECTORS, mergeSpans, type Span } from "../../src/redact/detectors.ts";

function hits(text: string): string[] {
  const spans: Span[] = [];
  detect(text, DETECTORS, spans);
  return mergeSpans(spans).map((s) => `${s.name}:${text.slice(s.start, s.end)}`);
}

Deno.test("checksums accept valid numbers and reject near misses", () => {
  assert.equal(luhnValid("79927398713"), true);
  assert.equal(luhnValid("79927398710"), false);
  assert.equal(cardValid("4111 1111 1111 1111"), true);
  assert.equal(cardValid("4111 1111 1111 1112"), false, "Luhn");
  assert.equal(cardValid("9111111111111111"), false, "no issuer starts with 9");
  assert.equal(cardValid("378282246310005"), true, "Amex, 15 digits");
  assert.equal(ibanValid("DE89 3704 0044 0532 0130 00"), true);
  assert.equal(ibanValid("GB82WEST12345698765432"), true);
  assert.equal(ibanValid("GB82WEST12345698765433"), false, "mod 97");
  assert.equal(ibanValid("DE8937040044053201300"), false, "length");
  assert.equal(ssnValid("078-05-1120"), true);
  assert.equal(ssnValid("666-12-3456"), false);
  assert.equal(ssnValid("900-12-3456"), false);
  assert.equal(ssnValid("123-00-4567"), false);
  assert.equal(phoneValid("+1 415 555 2671"), true);
  assert.equal(phoneValid("+1 111 111 1111"), false);
  assert.equal(ipv6Valid("2001:db8::1"), true);
  assert.equal(ipv6Valid("::ffff:192.0.2.1"), true);
  assert.equal(ipv6Valid("12:30:45"), false, "a time");
  assert.equal(ipv6Valid("00:1A:2B:3C:4D:5E"), false, "a MAC");
});

Deno.test("detectors find each kind of value in text", () => {
  const cases: [string, string][] = [
    ["mail Jane.Roe+x@mail.example.org now", "email:Jane.Roe+x@mail.example.org"],
    ["card 4111-1111-1111-1111 exp 12/26", "card:4111-1111-1111-1111"],
    ["pay 4111 1111 1111 1111 12 26", "card:4111 1111 1111 1111"],
    ["iban DE89 3704 0044 0532 0130 00.", "iban:DE89 3704 0044 0532 0130 00"],
    ["ssn 078-05-1120", "ssn:078-05-1120"],
    ["call +14155552671", "phone:+14155552671"],
    ["call (415) 555-2671", "phone:(415) 555-2671"],
    ["tel 06 12 34 56 78", "phone:06 12 34 56 78"],
    [
      "t eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln",
      "jwt:eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln",
    ],
    ["Authorization: Bearer abcdefgh12345678", "bearer:abcdefgh12345678"],
    ["k AKIAIOSFODNN7EXAMPLE", "aws-key:AKIAIOSFODNN7EXAMPLE"],
    [
      "k AIzaSyA-1234567890abcdefghijklmnopqrstu",
      "gcp-key:AIzaSyA-1234567890abcdefghijklmnopqrstu",
    ],
    [
      "k ghp_abcdefghijklmnopqrstuvwxyz0123456789",
      "github-token:ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    ],
    ["k xoxb-123456789012-abcdefghij", "slack-token:xoxb-123456789012-abcdefghij"],
    ["k sk_live_abcdefghij0123456789", "stripe-key:sk_live_abcdefghij0123456789"],
    // Overlapping finds merge: the userinfo and the `pw1@example.com` email become one span.
    ["u https://bob:pw1@example.com/x", "url-credentials:bob:pw1@example.com"],
    ["from 198.51.100.7, ok", "ipv4:198.51.100.7"],
    ["from 2001:db8:0:1::7 ok", "ipv6:2001:db8:0:1::7"],
  ];
  for (const [text, want] of cases) assert.deepEqual(hits(text), [want], text);
});

Deno.test("detectors leave controls alone: ids, timestamps, versions, order numbers", () => {
  for (
    const text of [
      "550e8400-e29b-41d4-a716-446655440000",
      "fa508711-7754-47e2-a1c0-a81a6e0f00cc",
      "2026-03-01T12:34:56.789Z",
      "1712345678901",
      "ORD-2026-000123",
      "INV00012345",
      "Mozilla/5.0 Chrome/120.0.0.0 Safari/537.36",
      "v1.2.3.4",
      "10.0.19041.1",
      "12:30:45",
      "00:1A:2B:3C:4D:5E",
      "4111111111111112",
      "token-like-but-not abcdef",
    ]
  ) assert.deepEqual(hits(text), [], text);
});

Deno.test("mergeSpans() unions overlapping spans", () => {
  const spans: Span[] = [
    { start: 5, end: 9, name: "b" },
    { start: 0, end: 6, name: "a" },
    { start: 12, end: 14, name: "c" },
  ];
  assert.deepEqual(mergeSpans(spans), [
    { start: 0, end: 9, name: "a" },
    { start: 12, end: 14, name: "c" },
  ]);
});
