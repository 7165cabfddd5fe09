import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { REPO_ROOT } from "./repo.js";

/**
 * The peer queues live in bench/peers with a package.json of their own: runway's install and
 * CI never fetch them, and their platform-specific optional packages never enter runway's lockfile.
 */
export const PEERS_DIR = join(REPO_ROOT, "bench", "peers");
const peerRequire = createRequire(join(PEERS_DIR, "package.json"));

export function ensurePeers(names: string[]): void {
  if (names.every((n) => existsSync(join(PEERS_DIR, "node_modules", n, "package.json")))) return;
  process.stderr.write(`installing the peers for the benchmark (${names.join(", ")}) into ${PEERS_DIR} (once)\n`);
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: PEERS_DIR, stdio: "inherit" });
}

export function loadPeer<T>(name: string): T {
  return peerRequire(name) as T;
}

export function peerVersion(name: string): string {
  try {
    return (peerRequire(`${name}/package.json`) as { version: string }).version;
  } catch {
    return "not installed";
  }
}
