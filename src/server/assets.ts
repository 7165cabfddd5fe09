/** The dashboard's files under static/, and the URL each is served at. */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const STATIC_DIR = fileURLToPath(new URL("./static/", import.meta.url));

export const CONTENT_TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
};

/** Read on every request, as they are small: an edited file shows on the next reload. */
export function asset(file: string): string {
  return readFileSync(join(STATIC_DIR, file), "utf8");
}

export function contentTypeOf(file: string): string {
  return CONTENT_TYPES[file.slice(file.lastIndexOf(".") + 1)]!;
}

/**
 * Every script and stylesheet, at its own path under static/ (`lib/dom.js` at `/lib/dom.js`), so
 * a module's relative imports name the URLs they load. Listed once at start-up: a request can
 * only ever reach a file on this list, never a path it makes up.
 */
export function scriptsAndStyles(): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(STATIC_DIR, dir), { withFileTypes: true })) {
      const file = dir ? `${dir}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(file);
      else if (/\.(js|css)$/.test(entry.name)) out.set(`/${file}`, file);
    }
  };
  walk("");
  return out;
}
