import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// The layers of DESIGN.md point down only. These checks read the sources, so a new file that
// reaches past its layer fails here rather than in a review.

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const src = join(root, "src");

/** Source files under a folder of src/, recursively (the dashboard's browser scripts included). */
function sources(folder: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) walk(path);
      else if (/\.(ts|js|mjs)$/.test(e.name)) out.push(path);
    }
  };
  walk(join(src, folder));
  return out;
}

/** Every module a file names: static imports and exports, side-effect imports, dynamic import(). */
function specifiers(text: string): string[] {
  const found: string[] = [];
  for (const re of [/\bfrom\s*["']([^"']+)["']/g, /\bimport\s*["']([^"']+)["']/g, /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g]) {
    for (const m of text.matchAll(re)) found.push(m[1]!);
  }
  return found;
}

/** The folder of src/ a relative specifier lands in ("store", "runtime"…); null for packages and node: modules. */
function layerOf(file: string, spec: string): string | null {
  if (!spec.startsWith(".")) return null;
  const rel = relative(src, resolve(dirname(file), spec));
  if (rel.startsWith("..")) return null;
  return rel.split(/[\\/]/)[0]!.replace(/\.(ts|js)$/, "");
}

/** Imports from `layers`, and uses of `.store`, by the files under `folders`, as "file: what" lines. */
function violations(folders: string[], layers: string[], opts: { storeAllowed?: boolean } = {}): string[] {
  const found: string[] = [];
  for (const folder of folders) {
    for (const file of sources(folder)) {
      const text = readFileSync(file, "utf8");
      const name = relative(root, file);
      for (const spec of specifiers(text)) {
        const layer = layerOf(file, spec);
        if (layer !== null && layers.includes(layer)) found.push(`${name}: imports ${spec}`);
      }
      if (opts.storeAllowed) continue;
      text.split("\n").forEach((line, i) => {
        if (/\.store\b/.test(line)) found.push(`${name}:${i + 1}: reaches the store: ${line.trim()}`);
      });
    }
  }
  return found;
}

describe("layers", () => {
  it("the CLI and the HTTP server go through the Runway API, never the store", () => {
    expect(violations(["cli", "server"], ["store"])).toEqual([]);
  });

  it("core is pure: it imports nothing outside core", () => {
    expect(violations(["core"], ["store", "runtime", "executors", "cli", "server", "index"])).toEqual([]);
  });

  it("the store imports only core; executors import core only", () => {
    expect(violations(["store"], ["runtime", "executors", "cli", "server", "index"], { storeAllowed: true })).toEqual([]);
    expect(violations(["executors"], ["store", "runtime", "cli", "server", "index"])).toEqual([]);
  });

  it("runtime never reaches up into the CLI or the server", () => {
    expect(violations(["runtime"], ["cli", "server", "index"], { storeAllowed: true })).toEqual([]);
  });

  it("finds what it is meant to find", () => {
    const file = join(src, "cli", "commands", "x.ts");
    expect(layerOf(file, "../../store/store.js")).toBe("store");
    expect(layerOf(join(src, "server", "app.ts"), "../store/sqlite/store.js")).toBe("store");
    expect(layerOf(file, "../../runtime/runway.js")).toBe("runtime");
    expect(layerOf(file, "node:fs")).toBeNull();
    expect(specifiers(`import type { A } from "../store/a.js";\nexport { b } from './b.js';\nawait import("../c.js");\nimport "./d.js";`)).toEqual([
      "../store/a.js",
      "./b.js",
      "./d.js",
      "../c.js",
    ]);
  });
});
