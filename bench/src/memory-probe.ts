// Resident memory of a worker holding many async jobs in flight, measured in a process of its
// own (node --expose-gc memory-probe.js <db> <n>): RSS after a collection, before and after.
import { open } from "../../src/index.js";

const [db, count] = process.argv.slice(2);
const n = Number(count);
const gc = (globalThis as { gc?: () => void }).gc;
const settle = async () => {
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 50));
  }
  return process.memoryUsage().rss;
};

const rw = open({ db: db! });
rw.on("warning", () => {});
await rw.queue("mem", { concurrency: null });
// Paused while the idle worker is measured: what the in-flight jobs add is the difference.
await rw.pause("mem");
for (let i = 0; i < n; i += 1000) await rw.addMany(Array.from({ length: Math.min(1000, n - i) }, (_, k) => ({ kind: "hold", queue: "mem", payload: { i: i + k } })));
let release: () => void = () => {};
const held = new Promise<void>((r) => (release = r));
let started = 0;
const w = rw.worker({
  concurrency: n,
  queues: ["mem"],
  leaseMs: 600_000,
  handlers: {
    hold: async () => {
      started++;
      await held;
    },
  },
});
const before = await settle();
await rw.resume("mem");
while (started < n) await new Promise((r) => setTimeout(r, 20));
const after = await settle();
release();
await w.stop();
await rw.close();
process.stdout.write(`${JSON.stringify({ before, after, inFlight: n, bytesPerJob: (after - before) / n })}\n`);
