import assert from "node:assert/strict";
import { FrameReader, readU32 } from "../../src/protocol/frame_reader.ts";
import { V1_MAX_FRAME, V2_MAX_FRAME } from "../../src/protocol/constants.ts";

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

function frame(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + body.length);
  out.set(u32(body.length), 0);
  out.set(body, 4);
  return out;
}

function cat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function bodyOf(len: number, seed: number): Uint8Array {
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = (i * 31 + seed * 7 + 1) & 0xff;
  return b;
}

/** Feed `chunks` and return copies of every frame body (views are valid only in the callback). */
function collect(reader: FrameReader, chunks: Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const c of chunks) {
    const err = reader.feed(c, (b) => out.push(b.slice()));
    assert.equal(err, null, `unexpected error ${JSON.stringify(err)}`);
  }
  return out;
}

/** Intercept `new Uint8Array(n)` while `fn` runs; returns the largest n seen. */
function largestAllocation(fn: () => void): number {
  const Orig = globalThis.Uint8Array;
  let largest = 0;
  const spy: Uint8ArrayConstructor = new Proxy(Orig, {
    construct(target, args, newTarget): object {
      if (typeof args[0] === "number") largest = Math.max(largest, args[0]);
      if (args[0] instanceof ArrayBuffer && args[2] === undefined) {
        largest = Math.max(largest, args[0].byteLength - (args[1] ?? 0));
      }
      return Reflect.construct(target, args, newTarget === spy ? target : newTarget);
    },
  });
  globalThis.Uint8Array = spy;
  try {
    fn();
  } finally {
    globalThis.Uint8Array = Orig;
  }
  return largest;
}

Deno.test("readU32() reads big-endian unsigned values including the top bit", () => {
  assert.equal(readU32(new Uint8Array([0, 0, 0, 1]), 0), 1);
  assert.equal(readU32(new Uint8Array([0xff, 0xff, 0xff, 0xff]), 0), 0xffff_ffff);
  assert.equal(readU32(new Uint8Array([9, 0x80, 0, 0, 0]), 1), 0x8000_0000);
  assert.equal(readU32(new Uint8Array([0x01, 0x00, 0x00, 0x00]), 0), 16_777_216);
});

Deno.test("FrameReader.feed() emits one frame given in one chunk", () => {
  const r = new FrameReader(V2_MAX_FRAME);
  const body = bodyOf(10, 1);
  assert.deepEqual(collect(r, [frame(body)]), [body]);
  assert.equal(r.buffered, 0);
});

Deno.test("FrameReader.feed() emits several frames from one chunk in order", () => {
  const r = new FrameReader(V2_MAX_FRAME);
  const bodies = [1, 2, 3, 300, 1, 70000].map((n, i) => bodyOf(n, i));
  assert.deepEqual(collect(r, [cat(bodies.map(frame))]), bodies);
  assert.equal(r.buffered, 0);
});

Deno.test("FrameReader.feed() handles a stream split at every byte position", () => {
  const bodies = [bodyOf(1, 1), bodyOf(5, 2), bodyOf(3, 3), bodyOf(17, 4)];
  const stream = cat(bodies.map(frame));
  for (let cut = 0; cut <= stream.length; cut++) {
    const r = new FrameReader(V2_MAX_FRAME);
    const got = collect(r, [stream.subarray(0, cut), stream.subarray(cut)]);
    assert.deepEqual(got, bodies, `split at ${cut}`);
    assert.equal(r.buffered, 0, `split at ${cut}`);
  }
});

Deno.test("FrameReader.feed() handles every pair of split positions", () => {
  const bodies = [bodyOf(2, 1), bodyOf(6, 2), bodyOf(1, 3)];
  const stream = cat(bodies.map(frame));
  for (let a = 0; a <= stream.length; a++) {
    for (let b = a; b <= stream.length; b++) {
      const r = new FrameReader(V2_MAX_FRAME);
      const got = collect(r, [stream.subarray(0, a), stream.subarray(a, b), stream.subarray(b)]);
      assert.deepEqual(got, bodies, `split at ${a},${b}`);
    }
  }
});

Deno.test("FrameReader.feed() handles a stream fed one byte at a time", () => {
  const bodies = [bodyOf(4, 1), bodyOf(1, 2), bodyOf(260, 3)];
  const stream = cat(bodies.map(frame));
  const r = new FrameReader(V1_MAX_FRAME);
  const chunks = [...stream].map((x) => new Uint8Array([x]));
  assert.deepEqual(collect(r, chunks), bodies);
  assert.equal(r.buffered, 0);
});

Deno.test("FrameReader.feed() handles random chunkings of many frames", () => {
  let seed = 12345;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let round = 0; round < 50; round++) {
    const bodies = Array.from({ length: 1 + rnd(20) }, (_, i) => bodyOf(1 + rnd(600), i + round));
    const stream = cat(bodies.map(frame));
    const chunks: Uint8Array[] = [];
    for (let o = 0; o < stream.length;) {
      const n = rnd(40) === 0 ? 0 : 1 + rnd(700);
      chunks.push(stream.subarray(o, o + n));
      o += n;
    }
    const r = new FrameReader(V2_MAX_FRAME);
    assert.deepEqual(collect(r, chunks), bodies, `round ${round}`);
    assert.equal(r.buffered, 0);
  }
});

Deno.test("FrameReader.feed() tolerates empty chunks at any point", () => {
  const body = bodyOf(9, 9);
  const f = frame(body);
  const r = new FrameReader(V2_MAX_FRAME);
  const e = new Uint8Array(0);
  const got = collect(r, [
    e,
    f.subarray(0, 2),
    e,
    f.subarray(2, 4),
    e,
    f.subarray(4, 8),
    e,
    f.subarray(8),
    e,
  ]);
  assert.deepEqual(got, [body]);
});

Deno.test("FrameReader.buffered counts only the bytes that arrived", () => {
  const r = new FrameReader(V2_MAX_FRAME);
  const f = frame(bodyOf(100, 1));
  assert.equal(r.feed(f.subarray(0, 3), () => assert.fail("no frame yet")), null);
  assert.equal(r.buffered, 3);
  assert.equal(r.feed(f.subarray(3, 50), () => assert.fail("no frame yet")), null);
  assert.equal(r.buffered, 50);
  let n = 0;
  assert.equal(r.feed(f.subarray(50), () => n++), null);
  assert.equal(n, 1);
  assert.equal(r.buffered, 0);
});

Deno.test("FrameReader.feed() keeps the bytes after a complete frame in the same chunk", () => {
  const a = bodyOf(5, 1), b = bodyOf(7, 2);
  const stream = cat([frame(a), frame(b)]);
  const r = new FrameReader(V2_MAX_FRAME);
  const got = collect(r, [stream.subarray(0, 11)]);
  assert.deepEqual(got, [a]);
  assert.equal(r.buffered, 2);
  assert.deepEqual(collect(r, [stream.subarray(11)]), [b]);
});

Deno.test("FrameReader.feed() is not confused when the caller reuses its read buffer", () => {
  const a = bodyOf(6, 1), b = bodyOf(6, 2);
  const stream = cat([frame(a), frame(b)]);
  const r = new FrameReader(V2_MAX_FRAME);
  const buf = new Uint8Array(7);
  const got: Uint8Array[] = [];
  for (let o = 0; o < stream.length; o += 7) {
    const n = Math.min(7, stream.length - o);
    buf.set(stream.subarray(o, o + n));
    assert.equal(r.feed(buf.subarray(0, n), (x) => got.push(x.slice())), null);
    buf.fill(0xee); // the socket overwrites the buffer on the next read
  }
  assert.deepEqual(got, [a, b]);
});

Deno.test("FrameReader.feed() rejects a zero length in a whole header", () => {
  const r = new FrameReader(V2_MAX_FRAME);
  const err = r.feed(u32(0), () => assert.fail("no frame"));
  assert.deepEqual(err, { code: "zero_length", length: 0 });
});

Deno.test("FrameReader.feed() rejects a zero length after a valid frame", () => {
  const r = new FrameReader(V2_MAX_FRAME);
  const got: Uint8Array[] = [];
  const err = r.feed(cat([frame(bodyOf(3, 1)), u32(0), frame(bodyOf(3, 2))]), (b) => {
    got.push(b.slice());
  });
  assert.deepEqual(err, { code: "zero_length", length: 0 });
  assert.equal(got.length, 1);
});

Deno.test("FrameReader.feed() rejects a zero length whose header is split", () => {
  for (let cut = 1; cut < 4; cut++) {
    const r = new FrameReader(V2_MAX_FRAME);
    const h = u32(0);
    assert.equal(r.feed(h.subarray(0, cut), () => {}), null);
    assert.deepEqual(r.feed(h.subarray(cut), () => {}), { code: "zero_length", length: 0 });
  }
});

Deno.test("FrameReader.feed() accepts v2 N = 16 MiB exactly", () => {
  const r = new FrameReader(V2_MAX_FRAME);
  const body = new Uint8Array(V2_MAX_FRAME);
  body[0] = 0x10;
  body[body.length - 1] = 0x7d;
  let seen = -1, first = -1, last = -1;
  const err = r.feed(frame(body), (b) => {
    seen = b.length;
    first = b[0];
    last = b[b.length - 1];
  });
  assert.equal(err, null);
  assert.equal(seen, V2_MAX_FRAME);
  assert.equal(first, 0x10);
  assert.equal(last, 0x7d);
});

Deno.test("FrameReader.feed() rejects v2 N = 16 MiB + 1 from the header alone", () => {
  const r = new FrameReader(V2_MAX_FRAME);
  assert.deepEqual(r.feed(u32(V2_MAX_FRAME + 1), () => assert.fail("no frame")), {
    code: "oversize",
    length: V2_MAX_FRAME + 1,
  });
});

Deno.test("FrameReader.feed() accepts v1 N = 10 MiB and rejects 10 MiB + 1", () => {
  const ok = new FrameReader(V1_MAX_FRAME);
  let n = 0;
  assert.equal(ok.feed(frame(new Uint8Array(V1_MAX_FRAME)), () => n++), null);
  assert.equal(n, 1);
  const bad = new FrameReader(V1_MAX_FRAME);
  assert.deepEqual(bad.feed(u32(V1_MAX_FRAME + 1), () => {}), {
    code: "oversize",
    length: V1_MAX_FRAME + 1,
  });
});

Deno.test("FrameReader.feed() rejects N = 2^32 - 1 with the unsigned length", () => {
  const r = new FrameReader(V2_MAX_FRAME);
  assert.deepEqual(r.feed(new Uint8Array([0xff, 0xff, 0xff, 0xff, 1, 2]), () => {}), {
    code: "oversize",
    length: 0xffff_ffff,
  });
});

Deno.test("FrameReader.feed() rejects an oversize header split at every position", () => {
  const h = u32(V2_MAX_FRAME + 1);
  for (let cut = 0; cut <= 4; cut++) {
    const r = new FrameReader(V2_MAX_FRAME);
    const e1 = r.feed(h.subarray(0, cut), () => {});
    const e2 = e1 ?? r.feed(h.subarray(cut), () => {});
    assert.deepEqual(e2, { code: "oversize", length: V2_MAX_FRAME + 1 }, `cut ${cut}`);
  }
});

Deno.test("FrameReader.feed() rejects an oversize header that follows a pending frame", () => {
  const a = bodyOf(10, 1);
  const stream = cat([frame(a), u32(V2_MAX_FRAME + 1)]);
  const r = new FrameReader(V2_MAX_FRAME);
  const got: Uint8Array[] = [];
  assert.equal(r.feed(stream.subarray(0, 6), (b) => got.push(b.slice())), null);
  const err = r.feed(stream.subarray(6), (b) => got.push(b.slice()));
  assert.deepEqual(err, { code: "oversize", length: V2_MAX_FRAME + 1 });
  assert.deepEqual(got, [a]);
});

Deno.test("FrameReader.feed() never allocates a claimed 16 MiB before the bytes arrive", () => {
  const r = new FrameReader(V2_MAX_FRAME);
  const chunk = new Uint8Array(1000);
  let frames = 0;
  const largest = largestAllocation(() => {
    assert.equal(r.feed(u32(V2_MAX_FRAME), () => frames++), null);
    for (let i = 0; i < 20; i++) assert.equal(r.feed(chunk, () => frames++), null);
  });
  assert.equal(frames, 0);
  assert.equal(r.buffered, 4 + 20 * 1000);
  assert.ok(largest <= 4 + 20 * 1000, `allocated ${largest} bytes for 20004 received`);
});

Deno.test("FrameReader.feed() holds no more than what arrived for a claimed 10 MiB v1 frame", () => {
  const r = new FrameReader(V1_MAX_FRAME);
  const largest = largestAllocation(() => {
    assert.equal(r.feed(cat([u32(V1_MAX_FRAME), new Uint8Array([0x7b])]), () => {}), null);
  });
  assert.equal(r.buffered, 5);
  assert.ok(largest <= 5, `allocated ${largest} bytes for 5 received`);
});
