/**
 * The spool on a real full disk (a 256 KiB tmpfs, root only): appends past the space end in
 * counted refusals or evictions, never in a corrupt frame (a failed write is cut back and the
 * next one lands at the new end), and every frame still there reads back.
 */

import assert from "node:assert/strict";
import { Spool } from "../../src/spool/spool.ts";
import { makeRecord } from "../sinks/_helpers.ts";

const CAN_MOUNT = Deno.build.os === "linux" && Deno.uid() === 0;

async function sh(cmd: string, ...args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stderr: "piped" }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
}

for (const policy of ["drop-oldest", "drop-newest"] as const) {
  Deno.test({
    name: `Spool on a full disk (${policy}): counted, no corrupt frame, the rest reads back`,
    ignore: !CAN_MOUNT,
    async fn() {
      const dir = await Deno.makeTempDir({ prefix: "spool-enospc-" });
      await sh("mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", dir);
      try {
        let evicted = 0;
        const s = await Spool.open({
          directory: dir,
          maxBytes: 64 << 20, // far above the disk: the disk fills first
          segmentBytes: 32 * 1024,
          fsyncMs: 50,
          fullPolicy: policy,
        }, {
          onEvicted: (c) => (evicted += c.records),
          held: () => ({ records: 0, events: 0 }),
          log: () => {},
        });
        let full = 0;
        const batch = Array.from({ length: 7 }, (_, i) => makeRecord(i));
        for (let i = 0; i < 200; i++) if (await s.append(`b${i}`, batch, 21) === "full") full++;
        assert.ok(full + evicted > 0, "the disk filled");
        assert.equal(s.stats().writeErrors, 0, "ENOSPC is the full-policy's, not an I/O error");
        let read = 0;
        for (let item = await s.read(); item !== null; item = await s.read()) {
          assert.ok(item.batch, "every frame reads back");
          read += item.records;
          s.done(item.handle);
        }
        assert.equal(read + evicted + full * 7, 200 * 7);
        await s.close();
      } finally {
        await sh("umount", dir);
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}
