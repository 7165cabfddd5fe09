/**
 * A real OpenSSH server on 127.0.0.1 at a free port, for the remote-target tests and benchmark:
 * its own host key, a client key and an ssh_config that point runway at it. Installs
 * openssh-server, rsync, tmux and sqlite3 with apt-get when they are missing (as root), and
 * says how to when it cannot.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";

export interface Sshd {
  port: number;
  dir: string;
  /** ssh_config for runway (RUNWAY_SSH_CONFIG): the client key, no agent, no user config. */
  config: string;
  key: string;
  hostPub: string;
  /** Stops the server and every session it started. */
  stop(): void;
  /** pids of this server's per-connection processes. */
  sessions(): number[];
}

const NEEDED: Record<string, string> = {
  "/usr/sbin/sshd": "openssh-server",
  "/usr/bin/ssh": "openssh-client",
  "/usr/bin/rsync": "rsync",
  "/usr/bin/tmux": "tmux",
  "/usr/bin/sqlite3": "sqlite3",
  "/usr/bin/flock": "util-linux",
};

export function ensureSshTools(): void {
  const missing = [...new Set(Object.entries(NEEDED).filter(([bin]) => !existsSync(bin)).map(([, pkg]) => pkg))];
  if (missing.length === 0) return;
  const how = `apt-get install -y --no-install-recommends ${missing.join(" ")}`;
  if (process.getuid?.() !== 0) throw new Error(`the remote-target tests need ${missing.join(", ")}; install them with: sudo ${how}`);
  // One installer at a time: test files start in parallel.
  const r = spawnSync("flock", ["/tmp/runway-apt.lock", "sh", "-c", `apt-get update -qq >/dev/null 2>&1; DEBIAN_FRONTEND=noninteractive ${how}`], {
    stdio: "pipe",
    encoding: "utf8",
  });
  const still = Object.keys(NEEDED).filter((bin) => !existsSync(bin));
  if (still.length > 0) throw new Error(`could not install ${missing.join(", ")} (${how}): ${r.stderr || r.stdout}`);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** `extra`: more sshd_config lines, e.g. a ForceCommand that makes the login shell talk. */
export async function startSshd(opts: { extra?: string[] } = {}): Promise<Sshd> {
  ensureSshTools();
  // Short and private: keys under a world-writable parent are refused unless StrictModes is off.
  const dir = mkdtempSync("/tmp/rwsshd-");
  execFileSync("chmod", ["700", dir]);
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "host_key")]);
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "client_key")]);
  writeFileSync(join(dir, "authorized_keys"), readFileSync(join(dir, "client_key.pub")), { mode: 0o600 });
  const port = await freePort();
  writeFileSync(
    join(dir, "sshd_config"),
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${join(dir, "host_key")}`,
      `PidFile ${join(dir, "sshd.pid")}`,
      `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
      "PermitRootLogin prohibit-password",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "StrictModes no",
      "MaxSessions 20",
      "MaxStartups 50:30:100",
      "LogLevel VERBOSE",
      ...(opts.extra ?? []),
      "",
    ].join("\n"),
  );
  execFileSync("mkdir", ["-p", "/run/sshd"]);
  // sshd re-executes itself, so it must be started by its absolute path.
  execFileSync("/usr/sbin/sshd", ["-f", join(dir, "sshd_config"), "-E", join(dir, "sshd.log")]);
  const key = join(dir, "client_key");
  writeFileSync(
    join(dir, "ssh_config"),
    ["Host *", `  IdentityFile ${key}`, "  IdentitiesOnly yes", "  IdentityAgent none", ""].join("\n"),
  );
  const pidFile = join(dir, "sshd.pid");
  // sshd writes its pid file after it forks: the file can exist, still empty, for a moment. A pid
  // read too early would be 0, and "the children of 0" is init itself: never signal anything
  // unless the pid is a real one.
  let listener = 0;
  for (let i = 0; i < 250 && listener <= 1; i++) {
    const text = existsSync(pidFile) ? readFileSync(pidFile, "utf8").trim() : "";
    listener = /^\d+$/.test(text) ? Number(text) : 0;
    if (listener <= 1) await new Promise((r) => setTimeout(r, 20));
  }
  if (listener <= 1) throw new Error(`sshd did not write its pid to ${pidFile}; see ${join(dir, "sshd.log")}`);
  const sessions = () => {
    const r = spawnSync("pgrep", ["-P", String(listener)], { encoding: "utf8" });
    return r.stdout.split("\n").filter(Boolean).map(Number).filter((pid) => pid > 1);
  };
  return {
    port,
    dir,
    config: join(dir, "ssh_config"),
    key,
    hostPub: readFileSync(join(dir, "host_key.pub"), "utf8"),
    sessions,
    stop() {
      // Sessions first, then the listener: killed the other way round they linger as orphans.
      for (const pid of sessions()) spawnSync("kill", ["-9", String(pid)]);
      spawnSync("kill", [String(listener)]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
