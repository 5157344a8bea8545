import assert from "node:assert/strict";
import { formatV6, lookupText, parseIp } from "../../src/enrich/ip.ts";
import { networkType } from "../../src/enrich/network_type.ts";

Deno.test("parseIp() reads IPv4 and refuses malformed dotted quads", () => {
  assert.equal(parseIp("8.8.8.8")?.v4, 0x08080808);
  assert.equal(parseIp("255.255.255.255")?.v4, 0xffffffff);
  for (
    const bad of [
      "",
      "1.2.3",
      "1.2.3.4.5",
      "256.1.1.1",
      "01.2.3.4",
      "1.2.3.-4",
      "a.b.c.d",
      "1..2.3",
    ]
  ) {
    assert.equal(parseIp(bad), null, bad);
  }
});

Deno.test("parseIp() reads every IPv6 spelling and unmaps IPv4-mapped addresses", () => {
  const g = parseIp("2001:4860:4860::8888")!;
  assert.deepEqual([g.version, g.w0, g.w1, g.w2, g.w3], [6, 0x20014860, 0x48600000, 0, 0x8888]);
  assert.equal(lookupText(parseIp("2001:4860:4860:0:0:0:0:8888")!), "2001:4860:4860::8888");
  assert.equal(lookupText(parseIp("fe80::1%eth0")!), "fe80::1");
  assert.equal(parseIp("::")?.w3, 0);
  assert.equal(lookupText(parseIp("::1")!), "::1");
  for (const mapped of ["::ffff:8.8.4.4", "::ffff:808:404", "0:0:0:0:0:ffff:8.8.4.4"]) {
    const ip = parseIp(mapped)!;
    assert.equal(ip.version, 4, mapped);
    assert.equal(ip.mapped, true);
    assert.equal(lookupText(ip), "8.8.4.4");
  }
  for (
    const bad of [
      ":",
      ":::",
      "1::2::3",
      "1:2:3:4:5:6:7:8:9",
      "12345::",
      "g::1",
      "1.2.3.4::",
      "::1.2.3",
    ]
  ) {
    assert.equal(parseIp(bad), null, bad);
  }
});

Deno.test("formatV6() compresses the longest zero run (RFC 5952)", () => {
  assert.equal(formatV6([0x20010db8, 0, 1, 0]), "2001:db8::1:0:0");
  assert.equal(formatV6([0, 0, 0, 0]), "::");
  assert.equal(formatV6([0x20010db8, 0x00010001, 0x00010001, 0x00010001]), "2001:db8:1:1:1:1:1:1");
});

Deno.test("networkType() classifies special-purpose ranges and leaves public ones public", () => {
  const cases: [string, string][] = [
    ["8.8.8.8", "public"],
    ["10.1.2.3", "private"],
    ["172.16.0.1", "private"],
    ["172.32.0.1", "public"],
    ["192.168.1.1", "private"],
    ["100.64.0.1", "cgnat"],
    ["100.128.0.1", "public"],
    ["127.0.0.1", "loopback"],
    ["169.254.1.1", "link_local"],
    ["192.0.2.7", "documentation"],
    ["198.51.100.7", "documentation"],
    ["203.0.113.7", "documentation"],
    ["198.18.0.1", "benchmarking"],
    ["224.0.0.1", "multicast"],
    ["255.255.255.255", "broadcast"],
    ["240.0.0.1", "reserved"],
    ["0.1.2.3", "unspecified"],
    ["2001:4860:4860::8888", "public"],
    ["::1", "loopback"],
    ["::", "unspecified"],
    ["fd00::1", "private"],
    ["fe80::1", "link_local"],
    ["2001:db8::1", "documentation"],
    ["3fff::1", "documentation"],
    ["ff02::1", "multicast"],
    ["64:ff9b::808:808", "nat64"],
    ["4000::1", "reserved"],
    ["::ffff:10.0.0.1", "private"],
  ];
  for (const [ip, type] of cases) assert.equal(networkType(parseIp(ip)!), type, ip);
});
