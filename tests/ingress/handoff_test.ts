import assert from "node:assert/strict";
import {
  type BatchTarget,
  Handoff,
  type HandoffBatch,
  INDEX_STRIDE,
} from "../../src/ingress/handoff.ts";
import { dropLabels, ingressMetrics } from "../../src/obs/catalog.ts";
import type { HandoffConfig } from "../../src/config/types.ts";
import { Encoding } from "../../src/protocol/constants.ts";

const QUEUE_FULL = dropLabels("handoff", "queue_full", false);

/** A worker that records what it is given and never finishes anything on its own. */
class StalledTarget implements BatchTarget {
  readonly posts: { batch: HandoffBatch; transfer: Transferable[] }[] = [];
  post(batch: HandoffBatch, transfer: Transferable[]): void {
    this.posts.push({ batch, transfer });
  }
}

interface Setup {
  h: Handoff;
  target: StalledTarget;
  metrics: ReturnType<typeof ingressMetrics>;
}

function withHandoff(cfg: Partial<HandoffConfig>, fn: (s: Setup) => void): void {
  const metrics = ingressMetrics();
  const target = new StalledTarget();
  const h = new Handoff(
    { maxEvents: 1000, policy: "drop-newest", flushIntervalMs: 1000, batchEvents: 512, ...cfg },
    metrics,
    target,
  );
  try {
    fn({ h, target, metrics });
  } finally {
    h.close();
  }
}

/** An event body whose bytes name it: "ev-<n>" padded to `size`. */
function body(n: number, size = 0): Uint8Array {
  const text = `ev-${n}`.padEnd(Math.max(size, 0), ".");
  return new TextEncoder().encode(text);
}

interface Delivered {
  bytes: Uint8Array;
  kind: number;
  encoding: number;
  arrival: number;
}

function eventsOf(batch: HandoffBatch): Delivered[] {
  const out: Delivered[] = [];
  const buf = new Uint8Array(batch.buf);
  for (let i = 0; i < batch.count; i++) {
    const o = i * INDEX_STRIDE;
    const [off, len, kind, encoding, arrival] = batch.index.subarray(o, o + INDEX_STRIDE);
    assert.ok(off >= 0 && off + len <= buf.length, "index inside the buffer");
    out.push({ bytes: buf.slice(off, off + len), kind, encoding, arrival });
  }
  return out;
}

const names = (posts: StalledTarget["posts"]) =>
  posts.flatMap((p) => eventsOf(p.batch).map((e) => new TextDecoder().decode(e.bytes)));

/** Let the worker finish everything, one batch at a time, and flush what remains. */
function drain(s: Setup): void {
  for (let guard = 0; guard < 100_000; guard++) {
    s.h.flush();
    const before = s.target.posts.length;
    s.h.consumed();
    s.h.flush();
    if (s.h.queued === 0 && s.target.posts.length === before) return;
  }
  assert.fail("drain did not finish");
}

Deno.test("Handoff.push() batches carry the exact bytes and index fields", () => {
  withHandoff({}, ({ h, target }) => {
    const a = new Uint8Array([0x7b, 0x7d]);
    const b = new TextEncoder().encode(`{"correlation_id":"é"}`);
    const c = new Uint8Array([0x84, 0xae, 0x00, 0xff]);
    h.push(0, Encoding.V1Json, a, 1_772_000_000_123.456);
    h.push(2, Encoding.Json, b, 1_772_000_000_124.5);
    h.push(7, Encoding.MsgPack, c, 1_772_000_000_125);
    assert.equal(target.posts.length, 0, "nothing posted before a flush or a full batch");
    h.flush();
    assert.equal(target.posts.length, 1);
    const { batch, transfer } = target.posts[0];
    assert.equal(batch.type, "batch");
    assert.equal(batch.count, 3);
    assert.deepEqual(eventsOf(batch), [
      { bytes: a, kind: 0, encoding: Encoding.V1Json, arrival: 1_772_000_000_123.456 },
      { bytes: b, kind: 2, encoding: Encoding.Json, arrival: 1_772_000_000_124.5 },
      { bytes: c, kind: 7, encoding: Encoding.MsgPack, arrival: 1_772_000_000_125 },
    ]);
    assert.ok(transfer.includes(batch.buf), "the buffer is transferred");
    assert.ok(transfer.includes(batch.index.buffer as ArrayBuffer), "the index is transferred");
  });
});

Deno.test("Handoff.push() copies the body so the caller may reuse its buffer", () => {
  withHandoff({}, ({ h, target }) => {
    const src = new Uint8Array([1, 2, 3, 4]);
    h.push(1, Encoding.Json, src.subarray(1, 3), 1);
    src.fill(9);
    h.flush();
    assert.deepEqual(eventsOf(target.posts[0].batch)[0].bytes, new Uint8Array([2, 3]));
  });
});

Deno.test("Handoff.push() keeps bodies larger than the default buffer intact", () => {
  withHandoff({}, (s) => {
    const big = new Uint8Array(200_000).map((_, i) => i & 0xff);
    s.h.push(0, Encoding.Json, body(1), 1);
    s.h.push(0, Encoding.Json, big, 2);
    s.h.push(0, Encoding.Json, body(3), 3);
    drain(s);
    const all = s.target.posts.flatMap((p) => eventsOf(p.batch));
    assert.equal(all.length, 3);
    assert.deepEqual(all[1].bytes, big);
    assert.deepEqual(all.map((e) => e.arrival), [1, 2, 3]);
  });
});

Deno.test("Handoff.push() seals a batch when it holds batch-events", () => {
  withHandoff({ batchEvents: 3 }, ({ h, target }) => {
    for (let i = 0; i < 3; i++) h.push(0, Encoding.Json, body(i), i);
    assert.equal(target.posts.length, 1);
    assert.equal(target.posts[0].batch.count, 3);
  });
});

Deno.test("Handoff keeps at most two batches in the worker's hands until consumed()", () => {
  withHandoff({ batchEvents: 2 }, ({ h, target }) => {
    for (let i = 0; i < 10; i++) h.push(0, Encoding.Json, body(i), i);
    h.flush();
    assert.equal(target.posts.length, 2);
    assert.equal(h.queued, 10);
    h.consumed();
    assert.equal(target.posts.length, 3);
    assert.equal(h.queued, 8);
    h.consumed();
    h.consumed();
    assert.equal(target.posts.length, 5);
    assert.equal(h.queued, 4);
    assert.deepEqual(names(target.posts), Array.from({ length: 10 }, (_, i) => `ev-${i}`));
  });
});

Deno.test("Handoff.consumed() without a posted batch changes nothing", () => {
  withHandoff({}, ({ h }) => {
    h.consumed();
    h.push(0, Encoding.Json, body(1), 1);
    h.consumed();
    assert.equal(h.queued, 1);
  });
});

Deno.test("Handoff drop-newest refuses events past max-events and counts them", () => {
  withHandoff({ maxEvents: 10, batchEvents: 2, policy: "drop-newest" }, (s) => {
    const { h, metrics } = s;
    for (let i = 0; i < 15; i++) h.push(0, Encoding.Json, body(i), i);
    assert.equal(h.queued, 10);
    assert.equal(metrics.dropped.local.get(QUEUE_FULL), 5);
    drain(s);
    const got = names(s.target.posts);
    assert.deepEqual(got, Array.from({ length: 10 }, (_, i) => `ev-${i}`));
    assert.equal(got.length + metrics.dropped.local.get(QUEUE_FULL), 15);
  });
});

Deno.test("Handoff drop-oldest discards the oldest waiting events and keeps the newest", () => {
  withHandoff({ maxEvents: 10, batchEvents: 2, policy: "drop-oldest" }, (s) => {
    const { h, metrics } = s;
    for (let i = 0; i < 15; i++) h.push(0, Encoding.Json, body(i), i);
    assert.ok(h.queued <= 10, `queued ${h.queued}`);
    drain(s);
    const got = names(s.target.posts);
    const dropped = metrics.dropped.local.get(QUEUE_FULL);
    assert.equal(got.length + dropped, 15, "every event delivered or counted");
    assert.ok(got.includes("ev-14"), `newest kept: ${got}`);
    assert.ok(!got.includes("ev-5"), `an old waiting one dropped: ${got}`);
    // The two batches already in the worker's hands cannot be recalled.
    assert.deepEqual(got.slice(0, 4), ["ev-0", "ev-1", "ev-2", "ev-3"]);
  });
});

Deno.test("Handoff drop-oldest keeps the newest even when the oldest are not sealed yet", () => {
  // max-events 5 < batch-events 100: everything sits in the open batch, nothing is "waiting".
  withHandoff({ maxEvents: 5, batchEvents: 100, policy: "drop-oldest" }, (s) => {
    const { h, metrics } = s;
    for (let i = 0; i < 8; i++) h.push(0, Encoding.Json, body(i), i);
    drain(s);
    const got = names(s.target.posts);
    assert.equal(got.length + metrics.dropped.local.get(QUEUE_FULL), 8);
    assert.ok(got.includes("ev-7"), `drop-oldest dropped the newest event: kept ${got}`);
  });
});

Deno.test("Handoff never holds more than max-events, whatever the policy", () => {
  for (const policy of ["drop-newest", "drop-oldest"] as const) {
    withHandoff({ maxEvents: 7, batchEvents: 3, policy }, (s) => {
      let pushed = 0;
      for (let round = 0; round < 30; round++) {
        for (let i = 0; i < 5; i++) {
          s.h.push(1, Encoding.Json, body(pushed), pushed);
          pushed++;
          assert.ok(s.h.queued <= 7, `${policy}: queued ${s.h.queued}`);
        }
        if (round % 3 === 0) s.h.flush();
        if (round % 4 === 0) s.h.consumed();
      }
      drain(s);
      const delivered = s.target.posts.reduce((n, p) => n + p.batch.count, 0);
      assert.equal(delivered + s.metrics.dropped.local.get(QUEUE_FULL), pushed, policy);
      assert.equal(s.h.queued, 0);
    });
  }
});

Deno.test("Handoff reports queue size, capacity, in-flight and batches in metrics", () => {
  withHandoff({ maxEvents: 50, batchEvents: 4 }, ({ h, metrics }) => {
    for (let i = 0; i < 9; i++) h.push(0, Encoding.Json, body(i), i);
    const text = metrics.registry.render();
    assert.match(text, /^telemetry_handoff_queue_events 9$/m);
    assert.match(text, /^telemetry_handoff_queue_capacity 50$/m);
    assert.match(text, /^telemetry_events_in_flight\{stage="handoff"\} 9$/m);
    assert.equal(metrics.handoffBatches.get(), 2);
    h.consumed();
    assert.match(metrics.registry.render(), /^telemetry_handoff_queue_events 5$/m);
  });
});

Deno.test("Handoff counts drops under the shared dropped family with bounded labels", () => {
  withHandoff({ maxEvents: 1, batchEvents: 10 }, ({ h, metrics }) => {
    h.push(0, Encoding.Json, body(0), 0);
    h.push(0, Encoding.Json, body(1), 1);
    h.push(0, Encoding.Json, body(2), 2);
    const text = metrics.registry.render();
    assert.match(
      text,
      /^telemetry_events_dropped_total\{intentional="false",reason="queue_full",stage="handoff"\} 2$/m,
    );
  });
});

Deno.test("Handoff holds memory in proportion to the bytes it queues", () => {
  // A stalled worker at a low event rate: the flush timer seals one small batch per event.
  // The hand-off caps *bytes*, so the buffers it keeps must not dwarf the bytes in them.
  withHandoff({ maxEvents: 1000, batchEvents: 512 }, (s) => {
    let bytes = 0;
    for (let i = 0; i < 300; i++) {
      const b = body(i, 100);
      bytes += b.length;
      s.h.push(0, Encoding.Json, b, i);
      s.h.flush(); // what the flush timer does every flush-interval-ms
    }
    drain(s);
    const held = s.target.posts.reduce((n, p) => n + p.batch.buf.byteLength, 0);
    assert.equal(names(s.target.posts).length, 300);
    assert.ok(
      held <= 4 * bytes + 2 * 65536,
      `${held} bytes of buffers held for ${bytes} bytes of events`,
    );
  });
});

Deno.test("Handoff.inOrder() runs a step only after every earlier event was posted", () => {
  withHandoff({ batchEvents: 2 }, (s) => {
    for (let i = 0; i < 7; i++) s.h.push(0, Encoding.Json, body(i), i);
    const postedWhenRun: number[] = [];
    s.h.inOrder(() => postedWhenRun.push(s.target.posts.length));
    s.h.push(0, Encoding.Json, body(7), 7);
    assert.deepEqual(postedWhenRun, [], "the worker still holds two batches: the step waits");
    drain(s);
    // 7 events before the step → batches of 2,2,2,1 (4 posts) must all precede it.
    assert.deepEqual(postedWhenRun, [4]);
    assert.equal(names(s.target.posts).length, 8);
  });
});
