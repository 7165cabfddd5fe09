// When the page fetches again: events arrive in bursts, and one fetch answers a whole burst.
import { toastOnce } from "./toast.js";

/**
 * Runs fn after `wait` ms of quiet, but at least every `maxWait` ms under a steady stream of
 * triggers, and never twice at once. trigger(true) runs it now; trigger.cancel() forgets a wait.
 */
export function coalesce(fn, wait = 250, maxWait = 1000) {
  let timer = null;
  let first = 0;
  let running = false;
  let again = false;
  const run = async () => {
    timer = null;
    first = 0;
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      await fn();
    } catch (e) {
      toastOnce(e.message || String(e));
    } finally {
      running = false;
      if (again) {
        again = false;
        trigger();
      }
    }
  };
  const trigger = (now = false) => {
    clearTimeout(timer);
    if (now) return void run();
    const t = Date.now();
    if (!first) first = t;
    timer = setTimeout(run, Math.max(0, Math.min(wait, first + maxWait - t)));
  };
  trigger.cancel = () => {
    clearTimeout(timer);
    timer = null;
  };
  return trigger;
}

/** A timer that skips its turns while the tab is hidden; returns the function that stops it. */
export function everyWhileVisible(ms, fn) {
  const id = setInterval(() => {
    if (!document.hidden) fn();
  }, ms);
  return () => clearInterval(id);
}
