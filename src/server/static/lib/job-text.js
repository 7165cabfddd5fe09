// How a job is named on the page: the same words the CLI uses.

/** Mirrors payloadCommandText in src/core/job-view.ts, so a command reads the same as in the CLI. */
export function commandText(job) {
  if (typeof job.shell === "string") return job.shell;
  if (Array.isArray(job.command)) return job.command.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(" ");
  return null;
}

export function jobTitle(job) {
  return job.name || commandText(job) || job.kind;
}

/** Ids are long and alike at the start (ulids): the end tells them apart. */
export function shortId(id) {
  return id.length > 12 ? `…${id.slice(-8)}` : id;
}
