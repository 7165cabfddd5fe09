// The event stream (/api/events) and the topbar's word on whether it is up.

const EVENT_TYPES = ["added", "started", "progress", "log", "completed", "failed", "cancelled", "skipped", "queue", "drained"];

function setLive(on, text) {
  const live = document.querySelector("[data-testid=live-status]");
  live.dataset.live = on ? "true" : "false";
  live.textContent = text ?? (on ? "live" : "reconnecting…");
  live.title = on ? "Updates arrive as they happen" : "The event stream is down; retrying";
}

/**
 * Opens the stream for good. onHello runs on every (re)connection: whatever happened while the
 * stream was down is then fetched once. onEvent gets each event's type and parsed data.
 */
export function connectLive({ onHello, onEvent }) {
  setLive(false, "connecting…");
  const connect = () => {
    const source = new EventSource("/api/events");
    source.addEventListener("hello", () => {
      setLive(true);
      onHello();
    });
    for (const type of EVENT_TYPES) {
      source.addEventListener(type, (e) => {
        let data;
        try {
          data = JSON.parse(e.data);
        } catch {
          return;
        }
        onEvent(type, data);
      });
    }
    source.addEventListener("error", () => {
      setLive(false);
      // A refused stream (the server restarted elsewhere, a proxy) is not retried by the browser itself.
      if (source.readyState === EventSource.CLOSED) setTimeout(connect, 5000);
    });
  };
  connect();
}
