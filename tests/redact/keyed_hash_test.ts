import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { HashKeyError, KeyedHasher, loadHashKey, sha256 } from "../../src/redact/keyed_hash.ts";
import { truncateIpv4, truncateIpv6 } from "../../src/redact/ip.ts";

const KEY = new TextEncoder().encode("0123456789abcdef-secret");

Deno.test("KeyedHasher.mac() is HMAC-SHA-256 for every message length", () => {
  const h = new KeyedHasher(KEY, "k1");
  for (
    const v of ["", "a", "x".repeat(55), "x".repeat(56), "y".repeat(64), "z".repeat(200), "é€😀"]
  ) {
    const data = new TextEncoder().encode(v);
    assert.equal(
      Array.from(h.mac(data), (b) => b.toString(16).padStart(2, "0")).join(""),
      createHmac("sha256", KEY).update(v).digest("hex"),
    );
    assert.equal(
      Array.from(sha256(data), (b) => b.toString(16).padStart(2, "0")).join(""),
      createHash("sha256").update(v).digest("hex"),
    );
  }
  const long = new Uint8Array(100).fill(9);
  assert.equal(
    Array.from(new KeyedHasher(long, "k").mac(KEY), (b) => b.toString(16).padStart(2, "0")).join(
      "",
    ),
    createHmac("sha256", long).update(KEY).digest("hex"),
    "keys longer than a block are hashed first",
  );
});

Deno.test("KeyedHasher.token() names the key id and joins equal values", () => {
  const a = new KeyedHasher(KEY, "k2026");
  const t = a.token("jane@example.com");
  assert.match(t, /^\[HMAC:k2026:[A-Za-z0-9_-]{22}\]$/);
  assert.equal(a.token("jane@example.com"), t);
  assert.notEqual(a.token("john@example.com"), t);
  const rotated = new KeyedHasher(new TextEncoder().encode("another-secret-0123456789"), "k2027");
  assert.notEqual(rotated.token("jane@example.com").slice(13), t.slice(12));
});

Deno.test("loadHashKey() reads a file or an env var and refuses short keys", async () => {
  const file = await Deno.makeTempFile();
  await Deno.writeTextFile(file, "a-long-enough-secret-value\n");
  assert.equal(new TextDecoder().decode(loadHashKey({ file })), "a-long-enough-secret-value");
  await Deno.writeTextFile(file, "short\n");
  assert.throws(() => loadHashKey({ file }), HashKeyError);
  await Deno.remove(file);
  assert.throws(() => loadHashKey({ file }), /cannot read redaction.hash-key-file/);
  Deno.env.set("TELEMETRY_TEST_HASH_KEY", "env-secret-0123456789");
  assert.equal(loadHashKey({ env: "TELEMETRY_TEST_HASH_KEY" }).length, 21);
  Deno.env.delete("TELEMETRY_TEST_HASH_KEY");
  assert.throws(() => loadHashKey({ env: "TELEMETRY_TEST_HASH_KEY" }), /is unset/);
});

Deno.test("truncateIpv4() and truncateIpv6() zero the host bits", () => {
  assert.equal(truncateIpv4("203.0.113.77", 24), "203.0.113.0");
  assert.equal(truncateIpv4("203.0.113.77", 16), "203.0.0.0");
  assert.equal(truncateIpv4("203.0.113.77", 32), "203.0.113.77");
  assert.equal(truncateIpv4("nope", 24), null);
  assert.equal(truncateIpv6("2001:db8:1:2::9", 48), "2001:db8:1::");
  assert.equal(truncateIpv6("2001:db8:abcd:ef01:1:2:3:4", 56), "2001:db8:abcd:ef00::");
  assert.equal(truncateIpv6("::ffff:192.0.2.1", 128), "::ffff:c000:201");
  assert.equal(truncateIpv6("1::2::3", 48), null);
});
