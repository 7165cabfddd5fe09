/**
 * A real browser for the dashboard tests: Debian's chromium, driven by playwright-core (which
 * brings no browser of its own). Installed on first use when the tests run as root, as the
 * remote-target tests install sshd.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

export function ensureChromium(): void {
  if (existsSync(CHROMIUM)) return;
  const how = "apt-get install -y --no-install-recommends chromium";
  if (process.getuid?.() !== 0) throw new Error(`the dashboard tests need chromium at ${CHROMIUM}; install it with: sudo ${how}`);
  // One installer at a time: test files start in parallel, and apt holds a lock of its own.
  const r = spawnSync("flock", ["/tmp/runway-apt.lock", "sh", "-c", `test -x ${CHROMIUM} || { apt-get update -qq >/dev/null 2>&1; DEBIAN_FRONTEND=noninteractive ${how}; }`], {
    stdio: "pipe",
    encoding: "utf8",
    timeout: 600_000,
  });
  if (!existsSync(CHROMIUM)) throw new Error(`could not install chromium (${how}): ${r.stderr || r.stdout || r.error?.message}`);
}

export async function launchBrowser(): Promise<Browser> {
  ensureChromium();
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    timeout: 30_000,
  });
}
