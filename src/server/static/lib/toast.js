// Messages in the corner: errors stay 10 s, news 4 s, and never more than four at once.
import { h } from "./dom.js";

const recent = new Map();

export function toast(message, kind = "error") {
  const box = document.getElementById("toasts");
  const el = h(
    "div",
    { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status", "data-testid": "toast", "data-kind": kind },
    h("span", { class: "toast-text" }, message),
  );
  el.append(h("button", { type: "button", class: "toast-close", "aria-label": "Dismiss", on: { click: () => el.remove() } }, "×"));
  box.append(el);
  while (box.children.length > 4) box.firstElementChild.remove();
  setTimeout(() => el.remove(), kind === "error" ? 10_000 : 4_000);
}

/** Background refreshes fail the same way many times over: one toast per message and quarter minute. */
export function toastOnce(message) {
  const last = recent.get(message) ?? 0;
  if (Date.now() - last < 15_000) return;
  recent.set(message, Date.now());
  toast(message);
}

/** Runs a change the user asked for; its error is theirs to see. */
export async function act(button, fn, done) {
  if (button) button.disabled = true;
  try {
    const r = await fn();
    if (done) toast(typeof done === "function" ? done(r) : done, "info");
    return r;
  } catch (e) {
    toast(e.message || String(e));
    return null;
  } finally {
    if (button) button.disabled = false;
  }
}
