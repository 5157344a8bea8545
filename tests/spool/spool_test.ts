/**
 * The spool on a real directory: frames survive a reopen in order, torn tails and corrupt
 * regions are detected, counted and skipped (never thrown), the delivered watermark survives,
 * the cap's two policies drop what they say and count it.
 */

import assert from "node:assert/strict";
import { Spool, type SpoolHooks } from "../../src/spool/spool.ts";
import type { SpoolOptions } from "../../src/spool/options.ts";
import { encodeFrame, SEGMENT_MAGIC } from "../../src/spool/frame.ts";
import { scanSegment } from "../../src/spool/segment_scan.ts";
import { makeRecord } from "../sinks/_helpers.ts";

function hooks(evicted: number[] = []): SpoolHooks {
  return {
    onEvicted: (c) => evicted.push(c.records),
    held: () => ({ records: 7, events: 21 }),
    log: () => {},
  };
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "spool-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function opts(dir: string, o: Partial<SpoolOptions> = {}): SpoolOptions {
  return {
    directory: dir,
    maxBytes: 1 << 20,
    segmentBytes: 64 * 1024,
    fsyncMs: 50,
    fullPolicy: "drop-oldest",
    ...o,
  };
}

function batch(from: number, n: number) {
  return Array.from({ length: n }, (_, i) => makeRecord(from + i, 2));
}

async function drainAll(spool: Spool): Promise<string[]> {
  const ids: string[] = [];
  for (;;) {
    const item = await spool.read();
    if (item === null) return ids;
    assert.ok(item.batch, "frame reads back");
    ids.push(item.batch.id);
    spool.done(item.handle);
  }
}

async function segments(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.name.endsWith(".seg")) out.push(e.name);
  return out.sort();
}

Deno.test("Spool keeps batches in order across a reopen and reads back what it wrote", async () => {
  await withDir(async (dir) => {
    const a = await Spool.open(opts(dir, { segmentBytes: 8192 }), hooks());
    for (let i = 0; i < 40; i++) {
      assert.equal(await a.append(`b${i}`, batch(i * 10, 10), 20), "spooled");
    }
    assert.equal(a.records, 400);
    assert.equal(a.events, 800);
    assert.ok((await segments(dir)).length > 1, "several segments");
    await a.close();
    const b = await Spool.open(opts(dir, { segmentBytes: 8192 }), hooks());
    assert.equal(b.recovery.records, 400);
    assert.equal(b.recovery.uncleanStop, false);
    assert.equal(b.recovery.damage.frames, 0);
    const ids = await drainAll(b);
    assert.deepEqual(ids, Array.from({ length: 40 }, (_, i) => `b${i}`));
    await b.close();
    assert.deepEqual(await segments(dir), [], "delivered segments are deleted");
  });
});

Deno.test("Spool remembers the delivered watermark: a reopen replays only what was not delivered", async () => {
  await withDir(async (dir) => {
    const a = await Spool.open(opts(dir), hooks());
    for (let i = 0; i < 10; i++) await a.append(`b${i}`, batch(i, 1), 1);
    for (let i = 0; i < 4; i++) {
      const item = (await a.read())!;
      a.done(item.handle);
    }
    await a.close();
    const b = await Spool.open(opts(dir), hooks());
    assert.equal(b.recovery.records, 6);
    assert.deepEqual(await drainAll(b), ["b4", "b5", "b6", "b7", "b8", "b9"]);
    await b.close();
  });
});

Deno.test("Spool recovery cuts a torn tail, counts it from the surviving header, and reports an unclean stop", async () => {
  await withDir(async (dir) => {
    const a = await Spool.open(opts(dir), hooks());
    for (let i = 0; i < 5; i++) await a.append(`b${i}`, batch(i * 3, 3), 6);
    await a.sync();
    // Simulate a crash: no close (no clean checkpoint), and a frame cut half-way.
    const [seg] = await segments(dir);
    const torn = encodeFrame({ id: "torn", records: batch(100, 3) }, 6);
    const f = await Deno.open(`${dir}/${seg}`, { append: true });
    await f.write(torn.subarray(0, Math.floor(torn.length / 2)));
    f.close();
    // The crashed run's timer is gone with it; make this test's instance quiet.
    await a.close();
    await Deno.writeTextFile(
      `${dir}/checkpoint.json`,
      JSON.stringify({ clean: false, at: Date.now(), pid: 1, heldRecords: 7, heldEvents: 21 }),
    );
    const sizeBefore = (await Deno.stat(`${dir}/${seg}`)).size;
    const b = await Spool.open(opts(dir), hooks());
    const r = b.recovery;
    assert.equal(r.uncleanStop, true);
    assert.equal(r.heldEventsAtLastCheckpoint, 21);
    assert.equal(r.damage.frames, 1);
    assert.equal(r.damage.records, 3);
    assert.equal(r.damage.events, 6);
    assert.equal(r.damage.bytes, Math.floor(torn.length / 2));
    assert.equal(r.records, 15);
    assert.equal((await Deno.stat(`${dir}/${seg}`)).size, sizeBefore - r.damage.bytes);
    assert.deepEqual(await drainAll(b), ["b0", "b1", "b2", "b3", "b4"]);
    await b.close();
    const c = await Spool.open(opts(dir), hooks());
    assert.equal(c.recovery.damage.frames, 0, "a cut tail is not counted twice");
    assert.equal(c.recovery.uncleanStop, false);
    await c.close();
  });
});

Deno.test("scanSegment resynchronises after a corrupt region and keeps the frames after it", () => {
  const frames = [0, 1, 2, 3].map((i) => encodeFrame({ id: `f${i}`, records: batch(i, 2) }, 4));
  const bytes = new Uint8Array(SEGMENT_MAGIC.length + frames.reduce((n, f) => n + f.length, 0));
  bytes.set(SEGMENT_MAGIC);
  let at = SEGMENT_MAGIC.length;
  const offsets: number[] = [];
  for (const f of frames) {
    offsets.push(at);
    bytes.set(f, at);
    at += f.length;
  }
  bytes[offsets[1] + 40] ^= 0xff; // a flipped byte in frame 1's payload
  bytes.fill(0xee, offsets[2], offsets[2] + 4); // frame 2's magic smashed
  const scan = scanSegment(bytes);
  assert.deepEqual(scan.frames.map((f) => f.offset), [offsets[0], offsets[3]]);
  assert.equal(scan.damage.frames, 1, "one corrupt region (frames 1 and 2)");
  assert.equal(scan.damage.bytes, offsets[3] - offsets[1]);
  assert.equal(scan.damage.tornTailAt, null);
  assert.equal(scanSegment(new Uint8Array([1, 2, 3])).headerOk, false);
});

Deno.test("Spool drop-oldest evicts the oldest segment at the cap and counts it; drop-newest refuses", async () => {
  await withDir(async (dir) => {
    const evicted: number[] = [];
    const frameBytes = encodeFrame({ id: "x0000", records: batch(0, 5) }, 10).length;
    const o = opts(dir, { maxBytes: 64 * 1024, segmentBytes: 16 * 1024 });
    const s = await Spool.open(o, hooks(evicted));
    const n = Math.ceil((2 * o.maxBytes) / frameBytes);
    for (let i = 0; i < n; i++) {
      assert.equal(await s.append(`x${String(i).padStart(4, "0")}`, batch(i, 5), 10), "spooled");
    }
    const st = s.stats();
    assert.ok(st.bytes <= o.maxBytes, `${st.bytes} <= ${o.maxBytes}`);
    assert.ok(evicted.length > 0);
    assert.equal(
      st.records + evicted.reduce((a, b) => a + b, 0),
      n * 5,
      "held + evicted = written",
    );
    const ids = await drainAll(s);
    assert.equal(ids.at(-1), `x${String(n - 1).padStart(4, "0")}`, "the newest survive");
    await s.close();
  });
  await withDir(async (dir) => {
    const o = opts(dir, {
      maxBytes: 64 * 1024,
      segmentBytes: 16 * 1024,
      fullPolicy: "drop-newest",
    });
    const s = await Spool.open(o, hooks());
    let refused = 0;
    for (let i = 0; i < 200; i++) {
      if (await s.append(`y${String(i).padStart(4, "0")}`, batch(i, 5), 10) === "full") refused++;
    }
    assert.ok(refused > 0);
    const ids = await drainAll(s);
    assert.equal(ids[0], "y0000", "the oldest survive");
    assert.equal(ids.length + refused, 200);
    await s.close();
  });
});

Deno.test("Spool reports a frame damaged after it was written as unreadable instead of throwing", async () => {
  await withDir(async (dir) => {
    const s = await Spool.open(opts(dir), hooks());
    await s.append("good0", batch(0, 2), 4);
    await s.append("bad", batch(2, 2), 4);
    await s.append("good1", batch(4, 2), 4);
    await s.sync();
    const [seg] = await segments(dir);
    const bytes = await Deno.readFile(`${dir}/${seg}`);
    const second = scanSegment(bytes).frames[1];
    bytes[second.offset + 30] ^= 0x55;
    await Deno.writeFile(`${dir}/${seg}`, bytes);
    const got: (string | null)[] = [];
    for (let item = await s.read(); item !== null; item = await s.read()) {
      got.push(item.batch?.id ?? null);
      s.done(item.handle);
    }
    assert.deepEqual(got, ["good0", null, "good1"]);
    await s.close();
  });
});
