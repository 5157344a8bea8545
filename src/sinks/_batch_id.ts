/**
 * Time-ordered batch ids (UUIDv7, RFC 9562) for the sink runner.
 * Any thread. Ids are strictly increasing within one thread: a 12-bit counter in `rand_a`
 * orders ids minted in the same millisecond; the clock never appears to go backwards.
 * @module
 */

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

let lastMs = 0;
let counter = 0;

/** A new UUIDv7 string, greater than every id this thread minted before. */
export function newBatchId(): string {
  let ms = Date.now();
  if (ms > lastMs) {
    lastMs = ms;
    counter = 0;
  } else {
    ms = lastMs;
    counter++;
    if (counter > 0xfff) {
      lastMs = ++ms;
      counter = 0;
    }
  }
  const b = new Uint8Array(16);
  crypto.getRandomValues(b.subarray(8));
  for (let i = 5; i >= 0; i--) {
    b[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  b[6] = 0x70 | (counter >> 8);
  b[7] = counter & 0xff;
  b[8] = 0x80 | (b[8] & 0x3f);
  let s = "";
  for (let i = 0; i < 16; i++) {
    s += HEX[b[i]];
    if (i === 3 || i === 5 || i === 7 || i === 9) s += "-";
  }
  return s;
}
