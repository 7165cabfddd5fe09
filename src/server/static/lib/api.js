// The HTTP API, as the page uses it. The token travels in the cookie the login page set (HttpOnly,
// so never seen here); a 401 means it is gone or wrong, and the login page sets a new one.

export class ApiError extends Error {
  constructor(message, status, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export async function api(path, { method = "GET", body } = {}) {
  let res;
  try {
    res = await fetch(path, {
      method,
      credentials: "same-origin",
      headers: body === undefined ? { Accept: "application/json" } : { Accept: "application/json", "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError("the server cannot be reached", 0, "network");
  }
  const data = await res.json().catch(() => null);
  if (res.status === 401) {
    location.assign("/login");
    throw new ApiError("sign in again", 401, "unauthorized");
  }
  if (!res.ok) throw new ApiError(data?.error?.message ?? `${res.status} ${res.statusText}`, res.status, data?.error?.code);
  return data;
}

const enc = encodeURIComponent;

export const getJob = (id) => api(`/api/jobs/${enc(id)}`);
export const getJobLog = (id, offset, attempt) => api(`/api/jobs/${enc(id)}/log?offset=${offset}&attempt=${attempt}`);
export const listJobs = (query) => api(`/api/jobs?${query}`);
/** cancel, retry, skip, or move with a body `{ to }`. */
export const steerJob = (id, action, body) => api(`/api/jobs/${enc(id)}/${action}`, { method: "POST", ...(body ? { body } : {}) });

export const listQueues = () => api("/api/queues");
export const steerQueue = (name, action) => api(`/api/queues/${enc(name)}/${action}`, { method: "POST" });
export const setConcurrency = (name, concurrency) => api(`/api/queues/${enc(name)}`, { method: "PUT", body: { concurrency } });

export const getStats = () => api("/api/stats");
export const listTargets = () => api("/api/targets");
export const listCrons = () => api("/api/crons");
