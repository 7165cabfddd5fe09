import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { TransportError } from "./connection.js";
import { markedLines } from "./protocol.js";
import { type TargetClient, serverVersion } from "./target-client.js";

export interface Check {
  ok: boolean;
  /** A problem that does not stop jobs from running. */
  warning?: boolean;
  what: string;
  detail: string;
}

/** Sent on stdin to `bash -s`: works before anything of runway is installed there. */
const PROBE = String.raw`
set +e
dir=$1
probe=$dir
while [ ! -e "$probe" ]; do probe=$(dirname "$probe"); done
echo __RUNWAY_BEGIN__
echo "bash=$BASH_VERSION"
echo "tmux=$(tmux -V 2>/dev/null)"
echo "rsync=$(rsync --version 2>/dev/null | head -n 1)"
echo "sqlite3=$(sqlite3 --version 2>/dev/null | cut -d' ' -f1)"
echo "json=$(sqlite3 :memory: "SELECT json_object('a', 1);" 2>/dev/null)"
echo "flock=$(command -v flock)"
echo "setsid=$(command -v setsid)"
echo "base64=$(command -v base64)"
echo "user=$(id -un)"
echo "disk_kb=$(df -Pk "$probe" 2>/dev/null | awk 'NR==2 {print $4}')"
echo "fstype=$(stat -f -c %T "$probe" 2>/dev/null)"
echo "linger=$(loginctl show-user "$(id -un)" -p Linger --value 2>/dev/null)"
echo "kill_user_processes=$(grep -hs '^KillUserProcesses=' /etc/systemd/logind.conf /etc/systemd/logind.conf.d/*.conf | tail -n 1 | cut -d= -f2)"
echo "systemd=$([ -d /run/systemd/system ] && echo yes || echo no)"
echo __RUNWAY_END__
`;

function version(text: string | undefined): number[] {
  const m = /(\d+)\.(\d+)(?:\.(\d+))?/.exec(text ?? "");
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : [];
}

function atLeast(v: number[], min: number[]): boolean {
  for (let i = 0; i < min.length; i++) {
    const a = v[i] ?? 0;
    if (a !== min[i]) return a > min[i]!;
  }
  return true;
}

/**
 * Everything a target needs, checked in one go and said in words: ssh without prompts, a quiet
 * login shell, the tools and their versions, disk space, whether processes outlive the login,
 * then the server scripts installed (or upgraded) and the server database initialised.
 */
export async function preflight(client: TargetClient): Promise<Check[]> {
  const t = client.target;
  const checks: Check[] = [];
  const add = (ok: boolean, what: string, detail: string, warning = false) => checks.push({ ok, what, detail, ...(warning ? { warning } : {}) });
  const where = `${t.host}${t.port ? ` port ${t.port}` : ""}`;

  const local = spawnSync("rsync", ["--version"], { encoding: "utf8" });
  const localRsync = version(local.stdout?.split("\n")[0]);
  if (t.sync) {
    const isDir = existsSync(t.sync) && statSync(t.sync).isDirectory();
    add(isDir, "project to sync", isDir ? t.sync : `${t.sync} is not a directory here; fix it with runway target add … --sync <dir> --replace`);
    add(atLeast(localRsync, [3, 1]), "rsync here", local.error ? "not installed; install rsync 3.1 or later" : `${local.stdout.split("\n")[0]}${atLeast(localRsync, [3, 1]) ? "" : " (3.1 or later needed)"}`);
  }

  let quiet: string;
  try {
    const r = await client.conn.exec(["true"], { timeoutMs: 30_000 });
    quiet = r.stdout.toString("utf8");
    add(r.code === 0, "ssh", r.code === 0 ? `${where}: logs in without a prompt; host key known to ${client.conn.knownHosts}` : `${where}: \`true\` exited with ${r.code}`);
  } catch (err) {
    add(false, "ssh", err instanceof TransportError ? err.message : String(err));
    return checks;
  }
  add(
    quiet === "",
    "quiet login shell",
    quiet === ""
      ? "prints nothing for a command"
      : `the login shell prints ${JSON.stringify(quiet.slice(0, 60))} for every command: rsync cannot work through that; make ~/.bashrc return early when not interactive ([ -z "$PS1" ] && return)`,
    quiet !== "" && !t.sync,
  );

  const probe = await client.conn.exec(["bash", "-s", "--", t.dir], { stdin: PROBE, timeoutMs: 30_000 });
  const facts = Object.fromEntries(
    (markedLines(probe.stdout) ?? []).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)] as const),
  ) as Record<string, string | undefined>;
  const bash = version(facts.bash);
  add(atLeast(bash, [4, 2]), "bash", facts.bash ? `${facts.bash}${atLeast(bash, [4, 2]) ? "" : " (4.2 or later needed)"}` : "not found: install bash");
  const tmux = version(facts.tmux);
  add(atLeast(tmux, [3, 0]), "tmux", facts.tmux ? `${facts.tmux}${atLeast(tmux, [3, 0]) ? "" : " (3.0 or later needed)"}` : "not found: install tmux (e.g. apt-get install tmux)");
  const rsync = version(facts.rsync);
  if (t.sync) add(atLeast(rsync, [3, 1]), "rsync there", facts.rsync ? facts.rsync : "not found: install rsync on the server");
  add(facts.json === '{"a":1}', "sqlite3", facts.sqlite3 ? `${facts.sqlite3}${facts.json === '{"a":1}' ? " with JSON" : " without JSON functions (3.38+ or a build with JSON1 needed)"}` : "not found: install sqlite3");
  for (const tool of ["flock", "setsid", "base64"]) add(!!facts[tool], tool, facts[tool] || `not found: install ${tool === "base64" ? "coreutils" : "util-linux"}`);
  const kb = Number(facts.disk_kb);
  if (Number.isFinite(kb) && facts.disk_kb) add(kb > 1024 * 1024, "disk space", `${(kb / 1024 / 1024).toFixed(1)} GiB free for ${t.dir}`, kb <= 1024 * 1024);
  if (facts.fstype && /nfs|cifs|smb|fuse/i.test(facts.fstype)) add(false, "local disk", `${t.dir} is on ${facts.fstype}: locks and SQLite are unreliable there; pick a directory on a local disk (--dir)`, true);
  const killsOnLogout = facts.kill_user_processes === "yes" && facts.linger !== "yes";
  add(
    !killsOnLogout,
    "survives logout",
    killsOnLogout
      ? `systemd-logind kills a user's processes at logout here (KillUserProcesses=yes) and linger is off: run loginctl enable-linger ${facts.user ?? "$USER"} on the server`
      : facts.systemd === "yes"
        ? `yes (KillUserProcesses=${facts.kill_user_processes || "no"}, linger ${facts.linger || "unknown"})`
        : "yes (no systemd-logind session killing)",
    killsOnLogout,
  );
  if (checks.some((c) => !c.ok && !c.warning)) return checks;

  try {
    const before = await client.serverVersion();
    await client.ensureInstalled(true);
    const now = serverVersion();
    add(true, "server scripts", before === now ? `version ${now} (reinstalled)` : before === null ? `version ${now} installed in ${t.dir}/bin` : `upgraded from version ${before} to ${now}`);
    add(true, "server database", `${t.dir}/server.db ready`);
  } catch (err) {
    add(false, "server scripts", (err as Error).message);
  }
  return checks;
}
