import assert from "node:assert/strict";
import { parseAsnCsv } from "../../src/enrich/asn_csv.ts";
import { decodeAsnTable, encodeAsnTable } from "../../src/enrich/asn_table.ts";
import { DataFileError } from "../../src/enrich/errors.ts";
import { parseIp } from "../../src/enrich/ip.ts";

const CSV = [
  '1.0.0.0,1.0.0.255,13335,"Cloudflare, Inc."',
  "8.8.8.0,8.8.8.255,15169,Google LLC",
  "8.8.9.0,8.8.9.255,15169,Google LLC",
  '9.9.9.0,9.9.9.200,19281,"Quad9 ""Foundation"""',
  "2001:4860::,2001:4860:ffff:ffff:ffff:ffff:ffff:ffff,15169,Google LLC",
  '2606:4700::,2606:4700:ffff:ffff:ffff:ffff:ffff:ffff,13335,"Cloudflare, Inc."',
].join("\n");

function table() {
  const csv = parseAsnCsv(CSV, "t.csv");
  return decodeAsnTable(encodeAsnTable(csv.v4, csv.v6), "t.bin");
}

Deno.test("parseAsnCsv() reads quoted organisations and both IP versions", () => {
  const csv = parseAsnCsv(CSV, "t.csv");
  assert.equal(csv.v4.length, 4);
  assert.equal(csv.v6.length, 2);
  assert.equal(csv.v4[0].org, "Cloudflare, Inc.");
  assert.equal(csv.v4[3].org, 'Quad9 "Foundation"');
});

Deno.test("encodeAsnTable() merges adjacent ranges of one AS; lookups find them", () => {
  const t = table();
  assert.equal(t.v4Count, 3); // 8.8.8.0/24 and 8.8.9.0/24 merged
  assert.equal(t.asCount, 3);
  assert.deepEqual(t.lookup(parseIp("8.8.8.8")!), {
    number: 15169,
    organization: "Google LLC",
    network: "8.8.8.0/23",
  });
  assert.equal(t.lookup(parseIp("9.9.9.9")!)?.number, 19281);
  assert.equal(t.lookup(parseIp("9.9.9.9")!)?.network, "9.9.9.0/25");
  assert.equal(t.lookup(parseIp("9.9.9.201")!), null, "past the range end");
  assert.equal(t.lookup(parseIp("1.0.1.0")!), null, "in a gap");
  assert.equal(t.lookup(parseIp("0.0.0.1")!), null, "before the first range");
  const v6 = t.lookup(parseIp("2001:4860:4860::8888")!);
  assert.deepEqual(v6, { number: 15169, organization: "Google LLC", network: "2001:4860::/32" });
  assert.equal(t.lookup(parseIp("2606:4700:4700::1111")!)?.number, 13335);
  assert.equal(t.lookup(parseIp("2a00::1")!), null);
});

Deno.test("decodeAsnTable() refuses truncated, foreign and unsorted files", () => {
  const csv = parseAsnCsv(CSV, "t.csv");
  const good = encodeAsnTable(csv.v4, csv.v6);
  const refuse = (bytes: Uint8Array, re: RegExp) =>
    assert.throws(
      () => decodeAsnTable(bytes, "x.bin"),
      (e: unknown) =>
        e instanceof DataFileError && e.code === "enrich_data_invalid" && re.test(e.message),
    );
  refuse(good.slice(0, good.length - 3), /truncated/);
  refuse(good.slice(0, 10), /shorter than its header/);
  refuse(
    new TextEncoder().encode("PK\u0003\u0004 not a table at all, just some zip bytes"),
    /bad magic/,
  );
  const unsorted = good.slice();
  const dv = new DataView(unsorted.buffer);
  dv.setUint32(32, 0xffffff00, true); // first IPv4 start above the second
  refuse(unsorted, /out of order/);
});

Deno.test("parseAsnCsv() refuses a file that is not an ASN CSV", () => {
  assert.throws(() => parseAsnCsv("<html>503</html>\n<p>down</p>\n", "x.csv"), DataFileError);
});
