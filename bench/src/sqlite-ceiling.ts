import { createRequire } from "node:module";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { open } from "../../src/index.js";
import { summarize, type Summary } from "./stats.js";

/**
 * SQLite's own rate for the rows a bulk add writes: runway's rows copied and inserted again by a
 * bare prepared INSERT in transactions of `batchSize`, with nothing of runway around it (no ids
 * made, no input checked, no job objects built). What separates runway's bulk add from this is
 * runway's own cost; this figure is what the schema (the table, its id index and its ready index)
 * costs on this disk, and so the most a bulk add could reach here.
 */
export async function sqliteInsertCeiling(p: { dir: string; batches: number; batchSize: number; durability: "normal" | "full"; runs: number }): Promise<Summary> {
  const Database = createRequire(import.meta.url)("better-sqlite3") as typeof import("better-sqlite3");
  const rates: number[] = [];
  for (let run = 0; run < p.runs; run++) {
    const path = join(p.dir, `ceiling-${process.pid}-${run}.db`);
    try {
      // runway makes the schema and one real row, so the copies are exactly what a bulk add writes.
      const rw = open({ db: path, durability: p.durability });
      await rw.queue("bench", { concurrency: null });
      await rw.addMany([{ kind: "noop", queue: "bench", payload: { i: 0 } }]);
      await rw.close();
      const db = new Database(path);
      db.pragma("journal_mode = WAL");
      db.pragma(`synchronous = ${p.durability === "full" ? "FULL" : "NORMAL"}`);
      const model = db.prepare("SELECT * FROM jobs LIMIT 1").get() as Record<string, unknown>;
      const columns = Object.keys(model);
      const insert = db.prepare(`INSERT INTO jobs (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`);
      const idAt = columns.indexOf("id");
      const positionAt = columns.indexOf("position");
      const payloadAt = columns.indexOf("payload");
      let seq = 0;
      const rows = (n: number) =>
        Array.from({ length: n }, () => {
          const r = Object.values(model);
          seq++;
          r[idAt] = `${String(model.id).slice(0, 10)}${String(seq).padStart(16, "0")}`;
          r[positionAt] = Number(model.position) + seq;
          r[payloadAt] = JSON.stringify({ i: seq });
          return r;
        });
      const tx = db.transaction((batch: unknown[][]) => {
        for (const r of batch) insert.run(r);
      });
      tx(rows(p.batchSize));
      const prepared = Array.from({ length: p.batches }, () => rows(p.batchSize));
      const t0 = performance.now();
      for (const b of prepared) tx(b);
      rates.push((p.batches * p.batchSize) / ((performance.now() - t0) / 1000));
      db.close();
    } finally {
      for (const suffix of ["", "-wal", "-shm"]) rmSync(path + suffix, { force: true });
    }
  }
  return summarize(rates);
}
