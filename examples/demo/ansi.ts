/**
 * Just enough ANSI for the demo. The project has no colour dependency, and the handful of SGR
 * and cursor codes needed here is smaller than a dependency would be.
 */

const ESC = "\x1b[";
const ANSI_RE = /\x1b\[[0-9;?]*[A-Za-z]/g;
const ANSI_AT = /\x1b\[[0-9;?]*[A-Za-z]/y;

export const cursor = {
  hide: `${ESC}?25l`,
  show: `${ESC}?25h`,
  up: (n: number) => (n > 0 ? `${ESC}${n}A` : ""),
  clearLine: `${ESC}2K`,
  clearDown: `${ESC}J`,
};

/** https://no-color.org: any non-empty NO_COLOR turns colour off, whatever the terminal can do. */
export function colorWanted(stream: NodeJS.WriteStream): boolean {
  if (process.env.NO_COLOR) return false;
  return Boolean(stream.isTTY) && process.env.TERM !== "dumb";
}

export interface Paint {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  blue(s: string): string;
  magenta(s: string): string;
  cyan(s: string): string;
  gray(s: string): string;
}

export type Tone = keyof Paint | "plain";

export function painter(enabled: boolean): Paint {
  // Each style closes with its own reset code (not 0), so styles nest without cancelling each other.
  const style = (open: number, close: number) => (s: string) => (enabled && s ? `${ESC}${open}m${s}${ESC}${close}m` : s);
  return {
    bold: style(1, 22),
    dim: style(2, 22),
    red: style(31, 39),
    green: style(32, 39),
    yellow: style(33, 39),
    blue: style(34, 39),
    magenta: style(35, 39),
    cyan: style(36, 39),
    gray: style(90, 39),
  };
}

export function tone(paint: Paint, t: Tone, s: string): string {
  return t === "plain" ? s : paint[t](s);
}

export function stripAnsi(s: string): string {
  return s.replace(ANSI_RE, "");
}

/** Counts code points, which is right for the ASCII and single-width symbols the demo prints. */
export function visibleWidth(s: string): number {
  let n = 0;
  for (const _ of stripAnsi(s)) n++;
  return n;
}

/** Cuts to `width` visible characters, ending with an ellipsis, and never splits an escape code. */
export function truncate(s: string, width: number): string {
  if (width <= 0) return "";
  if (visibleWidth(s) <= width) return s;
  let out = "";
  let seen = 0;
  let styled = false;
  let i = 0;
  while (i < s.length) {
    ANSI_AT.lastIndex = i;
    const m = ANSI_AT.exec(s);
    if (m) {
      out += m[0];
      styled = true;
      i += m[0].length;
      continue;
    }
    if (seen >= width - 1) break;
    const ch = String.fromCodePoint(s.codePointAt(i)!);
    out += ch;
    seen++;
    i += ch.length;
  }
  // A cut can drop the closing codes of an open style; a full reset keeps it from bleeding on.
  return `${out}…${styled ? `${ESC}0m` : ""}`;
}

export function padEnd(s: string, width: number): string {
  const cut = truncate(s, width);
  return cut + " ".repeat(Math.max(0, width - visibleWidth(cut)));
}

export function padStart(s: string, width: number): string {
  const cut = truncate(s, width);
  return " ".repeat(Math.max(0, width - visibleWidth(cut))) + cut;
}
