import { setTimeout as delay } from "node:timers/promises";
import { type Verdict, decide } from "./evidence.js";
import type { TargetClient } from "./target-client.js";

export type RunEnd = { verdict: Extract<Verdict, { state: "ended" }>; tail: Buffer | null };

interface Waiter {
  resolve(end: RunEnd): void;
}

/** Long polls are this long at most: a run added meanwhile is looked at by the next one. */
const WAIT_MS = 2_000;

/**
 * Watches every running run of one target with one ssh call at a time: a long poll that the
 * server answers as soon as one of them ends (it looks every 100 ms), so an end is seen well
 * within a second and an idle target costs one call every two seconds. When the server cannot be
 * reached it keeps trying with backoff; the runs go on there regardless.
 */
export class RunWatcher {
  private readonly waiters = new Map<string, Waiter[]>();
  private looping = false;
  private current: AbortController | null = null;
  private failures = 0;

  constructor(
    private readonly client: TargetClient,
    private readonly onContact: (ok: boolean, message: string | null) => void,
  ) {}

  /** Resolves when the run has ended on the server, with its verdict and the end of its output. */
  wait(runId: string): Promise<RunEnd> {
    return new Promise((resolve) => {
      const list = this.waiters.get(runId) ?? [];
      list.push({ resolve });
      this.waiters.set(runId, list);
      // The poll in flight does not cover this run: start the next one now.
      this.current?.abort();
      if (!this.looping) void this.loop();
    });
  }

  /** Stops waiting for a run (its job was handed back); the run itself is untouched. */
  forget(runId: string): void {
    this.waiters.delete(runId);
  }

  private async loop(): Promise<void> {
    this.looping = true;
    try {
      while (this.waiters.size > 0) {
        const ids = [...this.waiters.keys()];
        const controller = new AbortController();
        this.current = controller;
        try {
          const snap = await this.client.status(ids, WAIT_MS, controller.signal);
          this.failures = 0;
          this.onContact(true, null);
          for (const id of ids) {
            const ev = snap.runs.get(id);
            if (!ev) continue;
            let v = decide(ev, snap);
            // Launched, then gone from the server altogether (its directory was deleted): lost.
            if (v.state === "missing") v = { state: "ended", status: "LOST", exitCode: null, signal: null, reason: "missing_on_server", startedAt: null, endedAt: null, settle: false };
            if (v.state !== "ended") continue;
            const verdict = v;
            const list = this.waiters.get(id) ?? [];
            this.waiters.delete(id);
            for (const w of list) w.resolve({ verdict, tail: ev.tail });
            // Recorded on the server too, after the waiters have it: the next job need not wait for this.
            void this.client.close(id, verdict).catch(() => undefined);
          }
        } catch (err) {
          if (controller.signal.aborted) continue;
          this.failures++;
          this.onContact(false, err instanceof Error ? err.message : String(err));
          await delay(Math.min(30_000, 500 * 2 ** Math.min(this.failures, 6)));
        } finally {
          if (this.current === controller) this.current = null;
        }
      }
    } finally {
      this.looping = false;
    }
  }
}
