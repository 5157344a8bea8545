import assert from "node:assert/strict";
import { Assembler, type AssemblerOptions } from "../../src/pipeline/assembler.ts";
import { base64Length, type Lifecycle } from "../../src/pipeline/lifecycle.ts";
import type { DecodedEvent, EventKind } from "../../src/protocol/decode.ts";
import type { PartialReason } from "../../src/record/schema.ts";

interface Emitted {
  lc: Lifecycle;
  partial: PartialReason | null;
}

/** An assembler wired to recorders, with a running count of events added. */
class Harness {
  readonly emitted: Emitted[] = [];
  readonly drops: { reason: string; events: number }[] = [];
  readonly asm: Assembler;
  added = 0;
  emittedEvents = 0;
  droppedEvents = 0;
  constructor(opts: Partial<AssemblerOptions> = {}) {
    this.asm = new Assembler(
      { ttlMs: 1000, graceMs: 0, maxOpen: 1000, responseBody: false, ...opts },
      (lc, partial) => {
        this.emitted.push({ lc, partial });
        this.emittedEvents += lc.events;
      },
      (reason, events) => {
        this.drops.push({ reason, events });
        this.droppedEvents += events;
      },
    );
  }
  add(ev: DecodedEvent, at: number, protocol: 1 | 2 = 2): void {
    this.added++;
    this.asm.add(ev, at, protocol);
    this.checkBalance();
  }
  /** Every event added is held, emitted, or reported dropped, exactly once. */
  checkBalance(): void {
    const emitted = this.emittedEvents, dropped = this.droppedEvents;
    assert.equal(
      this.asm.events + emitted + dropped,
      this.added,
      `held ${this.asm.events} + emitted ${emitted} + dropped ${dropped} != added ${this.added}`,
    );
  }
  tick(now: number): void {
    this.asm.tick(now);
    this.checkBalance();
  }
  flushAll(): void {
    this.asm.flushAll();
    this.checkBalance();
    assert.equal(this.asm.size, 0);
    assert.equal(this.asm.events, 0);
    // No lifecycle changed after it was emitted.
    assert.equal(this.emitted.reduce((n, e) => n + e.lc.events, 0), this.emittedEvents);
  }
  reasons(): (PartialReason | null)[] {
    return this.emitted.map((e) => e.partial);
  }
}

function ev(kind: EventKind, correlationId: string, payload: Record<string, unknown> = {}) {
  return { kind, correlationId, payload } satisfies DecodedEvent;
}

function reqHeaders(cid: string, extra: Record<string, unknown> = {}): DecodedEvent {
  return ev("request_headers", cid, {
    metadata: {
      correlation_id: cid,
      request_id: crypto.randomUUID(),
      client_ip: "203.0.113.7:51234",
      client_port: 0,
      server_name: null,
      protocol: "HTTP/1.1",
      tls_version: null,
      tls_cipher: null,
      route_id: null,
      upstream_id: null,
      timestamp: "2026-03-01T12:00:00.123456789+00:00",
    },
    method: "GET",
    uri: "/",
    headers: { host: ["example.com"] },
    ...extra,
  });
}

function respHeaders(cid: string, status = 200): DecodedEvent {
  return ev("response_headers", cid, { correlation_id: cid, status, headers: {} });
}

function reqChunk(cid: string, data: string, isLast = false, index = 0): DecodedEvent {
  return ev("request_body_chunk", cid, {
    correlation_id: cid,
    data,
    is_last: isLast,
    total_size: null,
    chunk_index: index,
    bytes_received: 0,
  });
}

function respChunk(cid: string, data: string, isLast = false, index = 0): DecodedEvent {
  return ev("response_body_chunk", cid, {
    correlation_id: cid,
    data,
    is_last: isLast,
    total_size: null,
    chunk_index: index,
    bytes_sent: 0,
  });
}

function complete(cid: string, status = 200): DecodedEvent {
  return ev("request_complete", cid, {
    correlation_id: cid,
    status,
    duration_ms: 12,
    request_body_size: 0,
    response_body_size: 5,
    upstream_attempts: 1,
    error: null,
  });
}

Deno.test("Assembler.add() joins request and response headers into one complete lifecycle", () => {
  const h = new Harness();
  h.add(reqHeaders("a"), 100);
  assert.equal(h.emitted.length, 0);
  assert.equal(h.asm.size, 1);
  assert.equal(h.asm.events, 1);
  h.add(respHeaders("a"), 130);
  assert.equal(h.emitted.length, 1);
  const { lc, partial } = h.emitted[0];
  assert.equal(partial, null);
  assert.equal(lc.cid, "a");
  assert.equal(lc.events, 2);
  assert.equal(lc.requestArrival, 100);
  assert.equal(lc.responseArrival, 130);
  assert.equal(lc.protocol, 2);
  assert.equal((lc.response as { status: number }).status, 200);
  assert.equal(h.asm.size, 0);
  assert.equal(h.asm.events, 0);
});

Deno.test("Assembler.add() joins a response that arrives before its request", () => {
  const h = new Harness();
  h.add(respHeaders("r", 503), 200);
  assert.equal(h.emitted.length, 0);
  h.add(reqHeaders("r"), 210);
  assert.equal(h.emitted.length, 1);
  const { lc, partial } = h.emitted[0];
  assert.equal(partial, null);
  assert.equal(lc.requestArrival, 210);
  assert.equal(lc.responseArrival, 200);
  assert.equal(lc.firstArrival, 200);
  assert.equal(lc.lastArrival, 210);
});

Deno.test("Assembler.add() keeps ids apart and joins each with its own response", () => {
  const h = new Harness();
  h.add(reqHeaders("x"), 1);
  h.add(reqHeaders("y"), 2);
  h.add(respHeaders("y", 404), 3);
  h.add(respHeaders("x", 201), 4);
  assert.deepEqual(h.emitted.map((e) => [e.lc.cid, (e.lc.response as { status: number }).status]), [
    ["y", 404],
    ["x", 201],
  ]);
});

Deno.test("Assembler.add() records the protocol of the first event", () => {
  const h = new Harness();
  h.add(reqHeaders("v1"), 1, 1);
  h.add(respHeaders("v1"), 2, 1);
  assert.equal(h.emitted[0].lc.protocol, 1);
});

Deno.test("Assembler.tick() emits a request without response as no_response at the TTL", () => {
  const h = new Harness({ ttlMs: 1000 });
  h.add(reqHeaders("q"), 5000);
  h.tick(5999);
  assert.equal(h.emitted.length, 0);
  h.tick(6000);
  assert.deepEqual(h.reasons(), ["no_response"]);
  assert.equal(h.asm.size, 0);
});

Deno.test("Assembler.tick() emits a response without request as no_request at the TTL", () => {
  const h = new Harness({ ttlMs: 1000 });
  h.add(respHeaders("q"), 0);
  h.tick(999);
  assert.equal(h.emitted.length, 0);
  h.tick(1000);
  assert.deepEqual(h.reasons(), ["no_request"]);
});

Deno.test("Assembler.tick() emits lone request body chunks as no_request", () => {
  const h = new Harness({ ttlMs: 100 });
  h.add(reqChunk("c", "QUJD"), 0);
  h.add(reqChunk("c", "QQ==", true, 1), 10);
  h.tick(100);
  assert.deepEqual(h.reasons(), ["no_request"]);
  assert.equal(h.emitted[0].lc.requestChunks, 2);
  assert.equal(h.emitted[0].lc.requestBytes, 4);
});

Deno.test("Assembler.tick() expires several lifecycles in one sweep", () => {
  const h = new Harness({ ttlMs: 100 });
  for (let i = 0; i < 5; i++) h.add(reqHeaders(`t${i}`), i * 10);
  h.tick(125);
  assert.deepEqual(h.emitted.map((e) => e.lc.cid), ["t0", "t1", "t2"]);
  h.tick(1000);
  assert.equal(h.emitted.length, 5);
});

Deno.test("Assembler.add() emits the earlier request as superseded when its id comes back", () => {
  const h = new Harness();
  h.add(reqHeaders("dup", { uri: "/first" }), 1);
  h.add(reqHeaders("dup", { uri: "/second" }), 2);
  assert.deepEqual(h.reasons(), ["superseded"]);
  assert.equal(h.emitted[0].lc.request?.uri, "/first");
  h.add(respHeaders("dup"), 3);
  assert.deepEqual(h.reasons(), ["superseded", null]);
  assert.equal(h.emitted[1].lc.request?.uri, "/second");
});

Deno.test("Assembler.add() emits a second response without request as no_request", () => {
  const h = new Harness();
  h.add(respHeaders("z", 200), 1);
  h.add(respHeaders("z", 500), 2);
  assert.deepEqual(h.reasons(), ["no_request"]);
  assert.equal((h.emitted[0].lc.response as { status: number }).status, 200);
  h.add(reqHeaders("z"), 3);
  assert.deepEqual(h.reasons(), ["no_request", null]);
  assert.equal((h.emitted[1].lc.response as { status: number }).status, 500);
});

Deno.test("Assembler.add() evicts the oldest open lifecycle as table_full", () => {
  const h = new Harness({ maxOpen: 2 });
  h.add(reqHeaders("a"), 1);
  h.add(reqHeaders("b"), 2);
  h.add(reqHeaders("c"), 3);
  assert.deepEqual(h.emitted.map((e) => [e.lc.cid, e.partial]), [["a", "table_full"]]);
  assert.equal(h.asm.size, 2);
  h.add(respHeaders("a"), 4); // a is gone: this opens a new lifecycle, evicting b
  assert.deepEqual(h.emitted.map((e) => [e.lc.cid, e.partial]), [
    ["a", "table_full"],
    ["b", "table_full"],
  ]);
  assert.equal(h.asm.size, 2);
});

Deno.test("Assembler.add() never holds more than max-open lifecycles", () => {
  const h = new Harness({ maxOpen: 3, responseBody: true, graceMs: 50 });
  for (let i = 0; i < 50; i++) {
    h.add(reqHeaders(`m${i}`), i);
    if (i % 2) h.add(respHeaders(`m${i}`), i);
    assert.ok(h.asm.size <= 3, `size ${h.asm.size}`);
  }
  h.flushAll();
});

Deno.test("Assembler.add() evicts a lifecycle in grace as complete when the table is full", () => {
  const h = new Harness({ maxOpen: 1, responseBody: true, graceMs: 100 });
  h.add(reqHeaders("g"), 1);
  h.add(respHeaders("g"), 2); // in grace
  h.add(reqHeaders("n"), 3);
  assert.deepEqual(h.emitted.map((e) => [e.lc.cid, e.partial]), [["g", null]]);
});

Deno.test("Assembler.tick() waits out the grace for response body chunks", () => {
  const h = new Harness({ responseBody: true, graceMs: 100 });
  h.add(reqHeaders("b"), 0);
  h.add(respHeaders("b"), 10);
  assert.equal(h.emitted.length, 0);
  h.add(respChunk("b", "aGVsbG8="), 50);
  h.tick(109);
  assert.equal(h.emitted.length, 0);
  h.tick(110);
  assert.equal(h.emitted.length, 1);
  const { lc, partial } = h.emitted[0];
  assert.equal(partial, null);
  assert.equal(lc.responseChunks, 1);
  assert.equal(lc.responseBytes, 5);
  assert.equal(lc.responseLastChunkArrival, 50);
  assert.equal(lc.events, 3);
});

Deno.test("Assembler.add() ends the grace at the last response chunk", () => {
  const h = new Harness({ responseBody: true, graceMs: 1000 });
  h.add(reqHeaders("l"), 0);
  h.add(respHeaders("l"), 5);
  h.add(respChunk("l", "QUJD", false, 0), 6);
  assert.equal(h.emitted.length, 0);
  h.add(respChunk("l", "QUI=", true, 1), 7);
  assert.equal(h.emitted.length, 1);
  assert.equal(h.emitted[0].lc.responseBytes, 5);
  assert.equal(h.emitted[0].lc.responseChunks, 2);
});

Deno.test("Assembler.add() emits immediately when grace is 0 even with response bodies", () => {
  const h = new Harness({ responseBody: true, graceMs: 0 });
  h.add(reqHeaders("z"), 0);
  h.add(respHeaders("z"), 1);
  assert.equal(h.emitted.length, 1);
});

Deno.test("Assembler.tick() emits every lifecycle whose grace has elapsed", () => {
  // A: request at 0, response at 50 → due at 150. B: response at 10, request at 60 → its
  // grace started at the response (10), so it is due at 110 and must not wait behind A.
  const h = new Harness({ responseBody: true, graceMs: 100, ttlMs: 10_000 });
  h.add(reqHeaders("A"), 0);
  h.add(respHeaders("B"), 10);
  h.add(respHeaders("A"), 50);
  h.add(reqHeaders("B"), 60);
  h.tick(120);
  assert.deepEqual(h.emitted.map((e) => e.lc.cid), ["B"], "B is due at 110");
});

Deno.test("Assembler.add() drops a response chunk that comes after its lifecycle left", () => {
  const h = new Harness({ responseBody: true, graceMs: 10 });
  h.add(reqHeaders("late"), 0);
  h.add(respHeaders("late"), 1);
  h.tick(11);
  assert.equal(h.emitted.length, 1);
  h.add(respChunk("late", "QUJD"), 12);
  assert.deepEqual(h.drops, [{ reason: "late", events: 1 }]);
  assert.equal(h.asm.size, 0);
});

Deno.test("Assembler.add() counts request body bytes from padded base64", () => {
  const h = new Harness();
  h.add(reqHeaders("rb"), 0);
  h.add(reqChunk("rb", btoa("x".repeat(1000)), false, 0), 1);
  h.add(reqChunk("rb", btoa("yy"), false, 1), 2);
  h.add(reqChunk("rb", btoa("z"), true, 2), 3);
  h.add(reqChunk("rb", "", true, 3), 4);
  h.add(respHeaders("rb"), 5);
  const { lc } = h.emitted[0];
  assert.equal(lc.requestBytes, 1003);
  assert.equal(lc.requestChunks, 4);
  assert.equal(lc.requestLastChunkArrival, 4);
  assert.equal(lc.events, 6);
});

Deno.test("base64Length() gives the decoded size of padded base64", () => {
  for (const n of [0, 1, 2, 3, 4, 5, 6, 100, 65536, 1_000_001]) {
    const s = btoa("a".repeat(n));
    assert.equal(base64Length(s), n, `n=${n}`);
  }
  assert.equal(base64Length(undefined), 0);
  assert.equal(base64Length(null), 0);
  assert.equal(base64Length(42), 0);
});

Deno.test("Assembler.add() emits on request_complete, as complete with a request", () => {
  const h = new Harness();
  h.add(reqHeaders("rc"), 0);
  h.add(complete("rc", 502), 5);
  assert.deepEqual(h.reasons(), [null]);
  assert.equal((h.emitted[0].lc.complete as { status: number }).status, 502);
  assert.equal(h.emitted[0].lc.events, 2);
});

Deno.test("Assembler.add() emits request_complete after a response as one record", () => {
  const h = new Harness({ responseBody: true, graceMs: 100 });
  h.add(reqHeaders("rc2"), 0);
  h.add(respHeaders("rc2"), 5);
  h.add(complete("rc2"), 6);
  assert.equal(h.emitted.length, 1);
  assert.equal(h.emitted[0].partial, null);
  assert.equal(h.emitted[0].lc.events, 3);
});

Deno.test("Assembler.add() emits request_complete without a request as no_request", () => {
  const h = new Harness();
  h.add(respHeaders("rc3"), 0);
  h.add(complete("rc3"), 1);
  assert.deepEqual(h.reasons(), ["no_request"]);
});

Deno.test("Assembler.add() drops a request_complete for an unknown id as late", () => {
  const h = new Harness();
  h.add(complete("nobody"), 0);
  assert.deepEqual(h.drops, [{ reason: "late", events: 1 }]);
  assert.equal(h.asm.size, 0);
});

Deno.test("Assembler.add() reports kinds it does not record as not_recorded", () => {
  const h = new Harness();
  h.add(ev("websocket_frame", "w", {}), 0);
  h.add(ev("guardrail_inspect", "g", {}), 0);
  h.add(ev("configure", "", {}), 0);
  assert.deepEqual(h.drops.map((d) => d.reason), ["not_recorded", "not_recorded", "not_recorded"]);
  assert.equal(h.asm.size, 0);
});

Deno.test("Assembler.add() finishes a lifecycle in grace when its id starts a new request", () => {
  const h = new Harness({ responseBody: true, graceMs: 100 });
  h.add(reqHeaders("re", { uri: "/1" }), 0);
  h.add(respHeaders("re"), 1);
  h.add(reqHeaders("re", { uri: "/2" }), 2);
  assert.deepEqual(h.reasons(), [null]);
  assert.equal(h.emitted[0].lc.request?.uri, "/1");
  assert.equal(h.asm.size, 1);
  h.flushAll();
  assert.deepEqual(h.reasons(), [null, "shutdown"]);
});

Deno.test("Assembler.flushAll() emits grace ones complete and open ones as shutdown", () => {
  const h = new Harness({ responseBody: true, graceMs: 100 });
  h.add(reqHeaders("done"), 0);
  h.add(respHeaders("done"), 1);
  h.add(reqHeaders("open"), 2);
  h.add(respHeaders("orphan"), 3);
  h.flushAll();
  const by = Object.fromEntries(h.emitted.map((e) => [e.lc.cid, e.partial]));
  assert.deepEqual(by, { done: null, open: "shutdown", orphan: "shutdown" });
});

Deno.test("Assembler never emits the same lifecycle twice and balances under random traffic", () => {
  let seed = 42;
  const rnd = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  for (
    const opts of [
      { responseBody: false, graceMs: 0, maxOpen: 1000, ttlMs: 500 },
      { responseBody: true, graceMs: 50, maxOpen: 8, ttlMs: 300 },
      { responseBody: true, graceMs: 200, maxOpen: 3, ttlMs: 100 },
    ]
  ) {
    const h = new Harness(opts);
    let now = 0;
    for (let i = 0; i < 5000; i++) {
      now += rnd(20);
      const cid = `id${rnd(12)}`;
      switch (rnd(8)) {
        case 0:
        case 1:
          h.add(reqHeaders(cid), now);
          break;
        case 2:
        case 3:
          h.add(respHeaders(cid, 200 + rnd(400)), now);
          break;
        case 4:
          h.add(reqChunk(cid, "QUJD", rnd(2) === 0), now);
          break;
        case 5:
          h.add(respChunk(cid, "QQ==", rnd(2) === 0), now);
          break;
        case 6:
          if (rnd(5) === 0) h.add(complete(cid), now);
          else h.tick(now);
          break;
        default:
          h.add(ev("websocket_frame", cid), now);
      }
      assert.ok(h.asm.size <= opts.maxOpen);
    }
    h.flushAll();
    const seen = new Set<Lifecycle>();
    for (const e of h.emitted) {
      assert.ok(!seen.has(e.lc), `lifecycle ${e.lc.cid} emitted twice`);
      seen.add(e.lc);
      assert.ok(e.lc.events > 0);
    }
  }
});
