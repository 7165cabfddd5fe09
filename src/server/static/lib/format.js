// Durations, times and counts as the dashboard writes them; "–" stands for no value.

export function toMs(t) {
  if (t === null || t === undefined) return null;
  return typeof t === "number" ? t : Date.parse(t);
}

export function fmtDuration(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "–";
  if (ms < 0) ms = 0;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const sec = ms / 1000;
  if (sec < 60) return `${sec.toFixed(sec < 10 ? 1 : 0)} s`;
  const min = Math.floor(sec / 60);
  if (min < 60) return `${min} m ${Math.floor(sec % 60)} s`;
  const hours = Math.floor(min / 60);
  if (hours < 48) return `${hours} h ${min % 60} m`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/** A chart axis has little room: "500ms", "2s", "5m". */
export function fmtShortDuration(ms) {
  if (ms === 0) return "0";
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${ms / 1000}s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)}m`;
  return `${Math.round(ms / 3_600_000)}h`;
}

export function fmtAgo(t, now = Date.now()) {
  const ms = toMs(t);
  if (ms === null || Number.isNaN(ms)) return "–";
  const d = now - ms;
  const abs = Math.abs(d);
  let text;
  if (abs < 5_000) return d >= 0 ? "just now" : "now";
  if (abs < 60_000) text = `${Math.round(abs / 1000)} s`;
  else if (abs < 3_600_000) text = `${Math.round(abs / 60_000)} min`;
  else if (abs < 172_800_000) text = `${Math.round(abs / 3_600_000)} h`;
  else text = `${Math.round(abs / 86_400_000)} d`;
  return d >= 0 ? `${text} ago` : `in ${text}`;
}

/** Today's times need no date. */
export function fmtTime(t) {
  const ms = toMs(t);
  if (ms === null || Number.isNaN(ms)) return "–";
  const d = new Date(ms);
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString() : d.toLocaleString();
}

export function fmtCount(n) {
  return typeof n === "number" ? n.toLocaleString() : "–";
}

export function fmtJson(v) {
  try {
    return JSON.stringify(v, null, 2);
  } catch {
    return String(v);
  }
}

export function fmtKiB(bytes) {
  return `${(bytes / 1024).toFixed(0)} KiB`;
}
