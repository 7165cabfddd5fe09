import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

/**
 * WAL checkpoints off the main thread. Left to SQLite, a checkpoint runs inside whichever commit
 * pushes the WAL past its threshold and stalls that caller for milliseconds (the p99 of
 * add-to-start latency). Here a thread of this process, with its own connection, checkpoints
 * every `intervalMs` instead; the main connections keep a high automatic threshold as a
 * safety net in case the thread cannot keep up. One thread per database file per process.
 */
const THREAD_SOURCE = `
const { workerData, parentPort } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.path, { timeout: 5000 });
const timer = setInterval(() => {
  try { db.pragma("wal_checkpoint(PASSIVE)"); } catch {}
}, workerData.intervalMs);
parentPort.on("message", () => { clearInterval(timer); db.close(); parentPort.close(); });
`;

const threads = new Map<string, { worker: Worker; users: number }>();

/** Returns a stop function that resolves once this process's thread (if it was the last user) has closed its connection. */
export function startCheckpointer(path: string, intervalMs = 100): () => Promise<void> {
  let entry = threads.get(path);
  if (!entry) {
    const driver = createRequire(import.meta.url).resolve("better-sqlite3");
    const worker = new Worker(THREAD_SOURCE, { eval: true, workerData: { path, driver, intervalMs } });
    worker.unref();
    // A thread that fails leaves the safety-net threshold in charge; nothing else depends on it.
    worker.on("error", () => threads.delete(path));
    entry = { worker, users: 0 };
    threads.set(path, entry);
  }
  entry.users++;
  let stopped = false;
  return async () => {
    if (stopped) return;
    stopped = true;
    const e = threads.get(path);
    if (!e || --e.users > 0) return;
    threads.delete(path);
    const exited = new Promise<void>((resolve) => e.worker.once("exit", () => resolve()));
    // Held while it closes, so a process that is otherwise done waits for that instead of exiting mid-await.
    e.worker.ref();
    e.worker.postMessage("stop");
    await exited;
  };
}
