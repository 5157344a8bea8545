import assert from "node:assert/strict";
import { parseClientAddress } from "../../src/pipeline/client_address.ts";
import type { ClientGroup } from "../../src/record/schema.ts";

Deno.test("parseClientAddress() splits an IPv4 address and port", () => {
  assert.deepEqual(parseClientAddress("203.0.113.7:51234"), {
    ip: "203.0.113.7",
    port: 51234,
    ip_version: 4,
    address_kind: "ip",
  });
});

Deno.test("parseClientAddress() splits a bracketed IPv6 address and port", () => {
  assert.deepEqual(parseClientAddress("[2001:db8::1]:443"), {
    ip: "2001:db8::1",
    port: 443,
    ip_version: 6,
    address_kind: "ip",
  });
});

Deno.test("parseClientAddress() reads bare addresses without a port", () => {
  assert.deepEqual(parseClientAddress("2001:db8::1"), {
    ip: "2001:db8::1",
    ip_version: 6,
    address_kind: "ip",
  });
  assert.deepEqual(parseClientAddress("::1"), { ip: "::1", ip_version: 6, address_kind: "ip" });
  assert.deepEqual(parseClientAddress("198.51.100.9"), {
    ip: "198.51.100.9",
    ip_version: 4,
    address_kind: "ip",
  });
  assert.deepEqual(parseClientAddress("[2001:db8::2]"), {
    ip: "2001:db8::2",
    ip_version: 6,
    address_kind: "ip",
  });
});

Deno.test("parseClientAddress() writes IPv6 in canonical compressed lower case", () => {
  const cases: [string, string][] = [
    ["[2001:DB8:0:0:0:0:0:1]:80", "2001:db8::1"],
    ["0:0:0:0:0:0:0:1", "::1"],
    ["[2001:0db8:0000:0000:0001:0000:0000:0001]:1", "2001:db8::1:0:0:1"],
    ["fe80:0:0:0:0:0:0:abcd", "fe80::abcd"],
  ];
  for (const [raw, ip] of cases) assert.equal(parseClientAddress(raw).ip, ip, raw);
});

Deno.test("parseClientAddress() keeps an IPv4-mapped IPv6 address readable", () => {
  // RFC 5952 §5: IPv4-mapped addresses are written ::ffff:192.0.2.1; treating the peer as the
  // IPv4 client it really is would also do. "::ffff:102:304" is neither.
  const g = parseClientAddress("[::ffff:1.2.3.4]:80");
  assert.equal(g.address_kind, "ip");
  assert.equal(g.port, 80);
  const ok = (g.ip === "1.2.3.4" && g.ip_version === 4) ||
    (g.ip === "::ffff:1.2.3.4" && g.ip_version === 6);
  assert.ok(ok, `got ${JSON.stringify(g)}`);
});

Deno.test("parseClientAddress() recognises unknown and socket paths", () => {
  assert.deepEqual(parseClientAddress("unknown"), { address_kind: "unknown" });
  assert.deepEqual(parseClientAddress("/var/run/sentinel/proxy.sock"), { address_kind: "unix" });
  assert.deepEqual(parseClientAddress("/tmp/a:b.sock"), { address_kind: "unix" });
  assert.deepEqual(parseClientAddress("@abstract-socket"), { address_kind: "unix" });
});

Deno.test("parseClientAddress() calls garbage invalid and never throws", () => {
  const bad: unknown[] = [
    "",
    undefined,
    null,
    42,
    {},
    "999.1.1.1:80",
    "256.0.0.1",
    "1.2.3:80",
    "1.2.3.4.5",
    "1.2.3.4.",
    ".1.2.3.4",
    "1..2.3",
    "1.2.3.1000",
    "01.2.3.4:80",
    "1.2.3.4:99999",
    "1.2.3.4:65536",
    "1.2.3.4:",
    "1.2.3.4:-1",
    "1.2.3.4:8o",
    "1.2.3.4: 80",
    " 1.2.3.4:80",
    "1.2.3.4:80:90",
    "[2001:db8::1]:",
    "[2001:db8::1]:99999",
    "[2001:db8::1]x",
    "[2001:db8::1",
    "[]:80",
    "[1.2.3.4]:80",
    "[::1]]:80",
    "[fe80::1%eth0]:80",
    "2001:db8:::1",
    "1::2::3",
    ":::",
    "gggg::1",
    "localhost:80",
    "example.com",
    "unknown:80",
    "UNKNOWN",
  ];
  for (const raw of bad) {
    let g: ClientGroup;
    assert.doesNotThrow(() => {
      g = parseClientAddress(raw);
    }, String(raw));
    assert.deepEqual(g!, { address_kind: "invalid" }, JSON.stringify(raw));
  }
});

Deno.test("parseClientAddress() accepts the edge ports and omits port 0", () => {
  assert.equal(parseClientAddress("1.2.3.4:65535").port, 65535);
  assert.equal(parseClientAddress("1.2.3.4:1").port, 1);
  assert.equal(parseClientAddress("[::1]:65535").port, 65535);
  const zero = parseClientAddress("1.2.3.4:0");
  assert.equal(zero.address_kind, "ip");
  assert.equal(zero.port, undefined);
});

Deno.test("parseClientAddress() accepts the IPv4 extremes", () => {
  for (const ip of ["0.0.0.0", "255.255.255.255", "10.0.0.1", "192.168.100.200"]) {
    assert.deepEqual(parseClientAddress(`${ip}:8080`), {
      ip,
      port: 8080,
      ip_version: 4,
      address_kind: "ip",
    });
  }
});
