/**
 * Output of runway-ctl sits between marker lines: a login shell that prints a banner, a locale
 * warning or anything else from ~/.bashrc cannot be mistaken for it.
 */
export const BEGIN = "__RUNWAY_BEGIN__\n";
export const END = "__RUNWAY_END__";

/** The marked part of an output as a Buffer (binary-safe, for log bytes), or null when there is none. */
export function markedBytes(stdout: Buffer): Buffer | null {
  const at = stdout.indexOf(BEGIN);
  if (at < 0) return null;
  return stdout.subarray(at + BEGIN.length);
}

/** The marked lines of an output; null when the begin or end marker is missing (a cut-off answer). */
export function markedLines(stdout: Buffer): string[] | null {
  const body = markedBytes(stdout);
  if (body === null) return null;
  const text = body.toString("utf8");
  const end = text.indexOf(`\n${END}`) >= 0 ? text.indexOf(`\n${END}`) : text.startsWith(END) ? -1 : null;
  if (end === null) return null;
  return end < 0 ? [] : text.slice(0, end).split("\n");
}
