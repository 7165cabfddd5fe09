import { spawn } from "node:child_process";
import { lstatSync, mkdirSync } from "node:fs";
import { RunwayError } from "../../core/errors.js";
import { homedir, userInfo } from "node:os";
import { join } from "node:path";
import { remoteCommand } from "./quote.js";

/** Where and how to reach a server. */
export interface SshDestination {
  /** `[user@]host` or a Host alias of ~/.ssh/config. */
  host: string;
  port: number | null;
  identity: string | null;
}

export interface SshOptions {
  /** RUNWAY_HOME: host keys first seen by runway are remembered in <home>/known_hosts. */
  home: string;
  /** An ssh_config file to use instead of ~/.ssh/config; default RUNWAY_SSH_CONFIG, null for ssh's own. */
  configFile?: string | null;
  /** Commands running at once over the shared connection (sshd allows 10 sessions by default). */
  maxChannels?: number;
}

export interface ExecResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/**
 * ssh could not run the command at all: the server is unreachable, refused the key, its host key
 * changed, or the call timed out. The job is not at fault; the caller retries later.
 */
export class TransportError extends RunwayError {
  constructor(message: string) {
    super("unreachable", message);
  }
}

const CONNECT_TIMEOUT_S = 10;

let controlDir: string | null = null;

/**
 * The folder of the shared connections' sockets. One that someone else made, or that others can
 * enter, is refused: a socket planted there would receive the jobs' scripts.
 */
function privateControlDir(): string {
  const uid = userInfo().uid;
  const dir = process.env.XDG_RUNTIME_DIR ? join(process.env.XDG_RUNTIME_DIR, "runway-ssh") : join("/tmp", `runway-${uid}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o077) !== 0) {
    throw new TransportError(`${dir} is not a private folder of this user (owner ${st.uid}, mode ${(st.mode & 0o777).toString(8)}); remove it and try again`);
  }
  return dir;
}

/**
 * One server, reached with the system's OpenSSH client (so ~/.ssh/config, agents and ProxyJump
 * work as the user expects) over one shared connection (a ControlMaster started explicitly, so
 * two commands never race to become it). Commands are argv arrays turned into one quoted string;
 * nothing goes through a local shell.
 */
export class SshConnection {
  private readonly maxChannels: number;
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private master: Promise<void> | null = null;
  readonly knownHosts: string;

  constructor(
    readonly dest: SshDestination,
    private readonly opts: SshOptions,
  ) {
    this.maxChannels = opts.maxChannels ?? 4;
    this.knownHosts = join(opts.home, "known_hosts");
  }

  /** Short, private to this user, and out of ~/.ssh: a socket path must stay under 108 bytes. */
  private controlPath(): string {
    controlDir ??= privateControlDir();
    return join(controlDir, "%C");
  }

  /** Options for every ssh call (and rsync's). ssh keeps the first value given for an option, so ours win over the config file's. */
  sshArgs(): string[] {
    const quote = (p: string) => (/\s/.test(p) ? `"${p}"` : p);
    const o: Record<string, string> = {
      BatchMode: "yes",
      ConnectTimeout: String(CONNECT_TIMEOUT_S),
      ServerAliveInterval: "5",
      ServerAliveCountMax: "3",
      ControlPath: this.controlPath(),
      ControlMaster: "no",
      // First contact is accepted and remembered; a key that changed later is refused.
      StrictHostKeyChecking: "accept-new",
      UserKnownHostsFile: `${quote(this.knownHosts)} ${quote(join(homedir(), ".ssh", "known_hosts"))}`,
      LogLevel: "ERROR",
    };
    if (this.dest.identity) o.IdentitiesOnly = "yes";
    const args: string[] = [];
    const config = this.opts.configFile === undefined ? process.env.RUNWAY_SSH_CONFIG || null : this.opts.configFile;
    if (config) args.push("-F", config);
    for (const [k, v] of Object.entries(o)) args.push("-o", `${k}=${v}`);
    if (this.dest.identity) args.push("-i", this.dest.identity);
    if (this.dest.port !== null) args.push("-p", String(this.dest.port));
    return args;
  }

  /** The ssh command rsync should use (`rsync -e`), with every argument quoted for rsync's own splitting. */
  rsyncShell(): string {
    return ["ssh", ...this.sshArgs()].map((a) => (/[\s"'\\]/.test(a) ? `"${a.replace(/(["\\])/g, "\\$1")}"` : a)).join(" ");
  }

  /** Starts the shared connection unless one is up; failures surface on the command that follows. */
  private ensureMaster(): Promise<void> {
    this.master ??= (async () => {
      const check = await this.spawnSsh(["-O", "check", this.dest.host], { timeoutMs: 5_000 }).catch(() => null);
      if (check?.code === 0) return;
      // -f: into the background once authenticated; its output is not awaited beyond that.
      await this.spawnSsh(["-M", "-N", "-f", "-o", "ControlPersist=600", this.dest.host], { timeoutMs: (CONNECT_TIMEOUT_S + 5) * 1000, detached: true }).catch(
        () => undefined,
      );
    })().finally(() => {
      // Looked at again on the next call after a failure; once up, a master that dies is noticed the same way.
      setTimeout(() => (this.master = null), 5_000).unref();
    });
    return this.master;
  }

  /**
   * Runs `argv` on the server. Resolves with the remote exit code whatever it is; rejects with a
   * TransportError when ssh itself failed (exit 255), or the call outlived `timeoutMs`.
   */
  async exec(argv: readonly string[], o: { stdin?: string | Buffer; timeoutMs?: number; signal?: AbortSignal } = {}): Promise<ExecResult> {
    await this.ensureMaster();
    await this.acquire();
    try {
      const r = await this.spawnSsh([this.dest.host, "--", remoteCommand(argv)], o);
      if (r.code === 255) throw new TransportError(explainSshFailure(this.dest, r.stderr, this.knownHosts));
      return r;
    } finally {
      this.release();
    }
  }

  /** Ends the shared connection (ControlPersist would end it after ten idle minutes anyway). */
  async close(): Promise<void> {
    await this.spawnSsh(["-O", "exit", this.dest.host], { timeoutMs: 5_000 }).catch(() => undefined);
  }

  private acquire(): Promise<void> {
    if (this.running < this.maxChannels) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }

  private spawnSsh(
    args: string[],
    o: { stdin?: string | Buffer; timeoutMs?: number; signal?: AbortSignal; detached?: boolean },
  ): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
      if (o.signal?.aborted) return reject(new TransportError("the call was abandoned"));
      const child = spawn("ssh", [...this.sshArgs(), ...args], {
        stdio: [o.stdin === undefined ? "ignore" : "pipe", o.detached ? "ignore" : "pipe", "pipe"],
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let settled = false;
      let why: string | null = null;
      const stop = (reason: string) => {
        why ??= reason;
        child.kill("SIGKILL");
      };
      const timer = o.timeoutMs ? setTimeout(() => stop(`timed out after ${Math.round(o.timeoutMs! / 1000)} s`), o.timeoutMs) : null;
      const onAbort = () => stop("the call was abandoned");
      o.signal?.addEventListener("abort", onAbort, { once: true });
      child.stdout?.on("data", (d: Buffer) => out.push(d));
      child.stderr!.on("data", (d: Buffer) => err.push(d));
      const finish = (code: number | null) => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        o.signal?.removeEventListener("abort", onAbort);
        // A master sent to the background keeps the pipe open; what it said before going is enough.
        if (o.detached) child.stderr!.destroy();
        const stderr = Buffer.concat(err).toString("utf8");
        if (why !== null) return reject(new TransportError(`${this.dest.host}: ${why}`));
        resolve({ code: code ?? 255, stdout: Buffer.concat(out), stderr });
      };
      child.on("error", (e) => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        reject(new TransportError(`cannot run ssh: ${e.message}; install the OpenSSH client`));
      });
      // "exit" and not "close" for a master: its forked child holds stderr open for as long as it lives.
      child.on(o.detached ? "exit" : "close", (code) => finish(code));
      if (o.stdin !== undefined) {
        child.stdin!.on("error", () => {});
        child.stdin!.end(o.stdin);
      }
    });
  }
}

/** ssh's own complaint, reduced to one line that says what to do. */
export function explainSshFailure(dest: SshDestination, stderr: string, knownHosts: string): string {
  const where = dest.port ? `${dest.host} (port ${dest.port})` : dest.host;
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/i.test(stderr)) {
    const host = dest.host.replace(/^.*@/, "");
    const name = dest.port && dest.port !== 22 ? `[${host}]:${dest.port}` : host;
    return (
      `the host key of ${where} does not match the one remembered: refusing to connect. ` +
      `If the server was reinstalled, forget the old key with: ssh-keygen -R '${name}' -f ${knownHosts} (and ~/.ssh/known_hosts)`
    );
  }
  const lines = stderr
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !/^Warning: Permanently added/.test(l));
  const last = lines[lines.length - 1] ?? "ssh failed without saying why";
  if (/Permission denied/.test(stderr)) return `${where} refused the login (${last}); check the user and key (--identity), and that the key works with: ssh ${dest.host}`;
  if (/Could not resolve hostname/.test(stderr)) return `cannot resolve ${dest.host}: ${last}`;
  return `cannot reach ${where}: ${last}`;
}
