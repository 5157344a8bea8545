import assert from "node:assert/strict";
import { DataFileError } from "../../src/enrich/errors.ts";
import { parseIp } from "../../src/enrich/ip.ts";
import { parseThreatList, ThreatListSet } from "../../src/enrich/threat_lists.ts";
import { listName } from "../../src/enrich/data_store.ts";

const dir = new URL("../fixtures/threat/", import.meta.url);
const load = (file: string) =>
  parseThreatList(Deno.readTextFileSync(new URL(file, dir)), listName(file), file);

Deno.test("parseThreatList() reads Tor exit-addresses, plain, DROP, DROP-JSON and netset files", () => {
  const exits = load("tor-exit-addresses.txt");
  assert.equal(exits.isTor, true, "exit-addresses format marks a Tor list");
  assert.equal(exits.entries, 3);
  assert.equal(exits.v6.length, 1);
  const bulk = load("tor-bulk.txt");
  assert.equal(bulk.isTor, true, "a list named tor… is a Tor list");
  const drop = load("spamhaus-drop.txt");
  assert.equal(drop.isTor, false);
  assert.equal(drop.name, "spamhaus-drop");
  assert.deepEqual(drop.v4[0], [0x010a1000, 0x010a1fff]);
  const dropV6 = load("drop_v6.json");
  assert.equal(dropV6.entries, 2, "the metadata line carries no address");
  const netset = load("firehol_level1.netset");
  assert.equal(netset.entries, 6);
  assert.deepEqual(netset.v4.at(-1), [0xc21ac040, 0xc21ac07f], "a-b ranges are read");
});

Deno.test("parseThreatList() refuses an error page saved as a list", () => {
  assert.throws(
    () => load("broken-list.txt"),
    (e: unknown) => e instanceof DataFileError && /no IP address/.test(e.message),
  );
});

Deno.test("ThreatListSet names every list holding an address, overlaps included", () => {
  const set = new ThreatListSet(
    ["spamhaus-drop.txt", "firehol_level1.netset", "tor-exit-addresses.txt", "drop_v6.json"].map(
      load,
    ),
  );
  const names = (ip: string) => set.namesOf(set.maskOf(parseIp(ip)!));
  assert.deepEqual(names("1.10.20.30"), ["spamhaus-drop", "firehol_level1"]);
  assert.deepEqual(names("45.143.201.1"), ["firehol_level1"]);
  assert.deepEqual(names("185.220.101.34"), ["tor-exit-addresses"]);
  assert.deepEqual(names("185.220.101.36"), []);
  assert.deepEqual(names("2a0b:f4c2::35"), ["tor-exit-addresses"]);
  assert.deepEqual(names("2a06:e487:1::1"), ["drop_v6"]);
  assert.deepEqual(names("2a06:e488::1"), [], "just past a /29");
  assert.deepEqual(names("194.26.192.127"), ["firehol_level1"]);
  assert.deepEqual(names("194.26.192.128"), []);
  assert.ok((set.maskOf(parseIp("185.220.101.35")!) & set.torMask) !== 0);
});
