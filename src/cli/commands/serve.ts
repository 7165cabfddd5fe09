import type { Command } from "commander";
import { ValidationError } from "../../core/errors.js";
import { home, openRunway, parseIntOption } from "../context.js";

export function registerServe(program: Command): void {
  program
    .command("serve")
    .description("The HTTP API, live events and the web dashboard")
    .option("--host <address>", "address to bind (beyond loopback a token is required)", "127.0.0.1")
    .option("--port <n>", "port", parseIntOption("port"), 7400)
    .option("--token <token>", "require this token (default beyond loopback: one kept in $RUNWAY_HOME/token)")
    .option("--read-only", "serve reads only: every change is refused")
    .addHelpText("after", "\nExamples:\n  runway serve\n  runway serve --host 0.0.0.0 --port 8080 --read-only\n")
    .action(async (opts: { host: string; port: number; token?: string; readOnly?: boolean }) => {
      if (opts.token !== undefined && opts.token.length < 16) throw new ValidationError("token", "use at least 16 characters");
      // Loaded here, not with the CLI: the HTTP stack costs every other command 100 ms otherwise.
      const { startServer } = await import("../../server/serve.js");
      const rw = openRunway(program);
      const server = await startServer({
        runway: rw,
        home: home(),
        host: opts.host,
        port: opts.port,
        token: opts.token ?? null,
        readOnly: !!opts.readOnly,
      }).catch(async (err: NodeJS.ErrnoException) => {
        await rw.close();
        if (err.code === "EADDRINUSE") throw new ValidationError("port", `${opts.host}:${opts.port} is in use; pick another with --port`);
        if (err.code === "EADDRNOTAVAIL") throw new ValidationError("host", `${opts.host} is not an address of this machine`);
        if (err.code === "EACCES") throw new ValidationError("port", `port ${opts.port} needs privileges this user does not have; pick one above 1023`);
        throw err;
      });
      process.stdout.write(`runway serve: ${server.url}/ on ${rw.location}${opts.readOnly ? " (read-only)" : ""}\n`);
      if (server.tokenFile) process.stdout.write(`token required: it is in ${server.tokenFile}\n`);
      else if (server.token) process.stdout.write("token required: the one given with --token\n");
      await new Promise<void>((resolve) => {
        for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => resolve());
      });
      await server.close();
      await rw.close();
    });
}
