import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The checkout's root folder: the nearest one above this file that holds package.json and
 * bench/tsconfig.json. Found by looking, not by a fixed number of `..`, because this file runs
 * from bench/src under vitest and from bench/dist/bench/src once built.
 */
export const REPO_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));

function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "bench", "tsconfig.json"))) return dir;
    if (dirname(dir) === dir) throw new Error(`no runway checkout above ${from}`);
  }
}
