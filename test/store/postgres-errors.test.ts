/**
 * What a user sees when the PostgreSQL side is wrong: one line that says what to do, exit 1,
 * no stack trace, from the real CLI against a real (or deliberately wrong) server.
 */
import { execFile } from "node:child_process";
import { type AddressInfo, createServer } from "node:net";
import { promisify } from "node:util";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PG_URL, requirePostgres } from "../helpers/pg.js";

const BIN = new URL("../../dist/cli/main.js", import.meta.url).pathname;

async function runway(args: string[]) {
  try {
    const r = await promisify(execFile)(process.execPath, [BIN, ...args]);
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

function url(parts: { user?: string; port?: string | number; host?: string; db?: string; schema?: string }): string {
  const u = new URL(PG_URL);
  if (parts.user) u.username = parts.user;
  if (parts.port !== undefined) u.port = String(parts.port);
  if (parts.host) u.hostname = parts.host;
  if (parts.db) u.pathname = `/${parts.db}`;
  if (parts.schema) u.searchParams.set("schema", parts.schema);
  return u.toString();
}

function expectOneLine(r: { code: number; stderr: string }, message: RegExp, code = 1) {
  expect(r.code).toBe(code);
  expect(r.stderr).toMatch(/^runway: [^\n]+\n$/);
  expect(r.stderr).toMatch(message);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

/**
 * A server that speaks just enough of the PostgreSQL protocol to ask for a password and refuse
 * it, as a server with password authentication does (the local one trusts every login).
 */
function refusingServer(): Promise<{ port: number; close: () => void }> {
  const server = createServer((socket) => {
    socket.once("data", () => {
      const ask = Buffer.alloc(9);
      ask.write("R", 0);
      ask.writeInt32BE(8, 1);
      ask.writeInt32BE(3, 5); // cleartext password, please
      socket.write(ask);
      socket.once("data", () => {
        const fields = Buffer.from('SFATAL\0C28P01\0Mpassword authentication failed for user "runway"\0\0');
        const head = Buffer.alloc(5);
        head.write("E", 0);
        head.writeInt32BE(fields.length + 4, 1);
        socket.end(Buffer.concat([head, fields]));
      });
    });
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve({ port: (server.address() as AddressInfo).port, close: () => server.close() })),
  );
}

beforeAll(async () => {
  await requirePostgres();
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  await c.query(`DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'runway_intruder') THEN CREATE ROLE runway_intruder LOGIN; END IF; END$$`);
  await c.query("CREATE SCHEMA IF NOT EXISTS runway_not_yours");
  await c.end();
});

afterAll(async () => {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  await c.query("DROP SCHEMA IF EXISTS runway_not_yours CASCADE");
  await c.end();
});

describe("PostgreSQL mistakes, as the CLI reports them", () => {
  it("an unreachable server", async () => {
    expectOneLine(await runway(["stats", "--db", url({ port: 1 })]), /cannot reach PostgreSQL at .*:1\/.*: connection refused; is the server running/);
    expectOneLine(await runway(["stats", "--db", url({ host: "no-such-host.invalid" })]), /unknown host; check the host name/);
  });

  it("a wrong password", async () => {
    const server = await refusingServer();
    try {
      const r = await runway(["stats", "--db", `postgres://runway:wrong@127.0.0.1:${server.port}/db`]);
      expectOneLine(r, /refused the login: password authentication failed for user "runway"; check the user and password in the URL/);
      expect(r.stderr).not.toContain("wrong");
    } finally {
      server.close();
    }
  });

  it("a database that does not exist", async () => {
    expectOneLine(await runway(["stats", "--db", url({ db: "runway_no_such_db" })]), /database "runway_no_such_db" does not exist .*create it \(createdb\)/);
  });

  it("a schema owned by someone else", async () => {
    expectOneLine(
      await runway(["stats", "--db", url({ user: "runway_intruder", schema: "runway_not_yours" })]),
      /denied access to schema "runway_not_yours" .*use a schema this user owns/,
    );
  });

  it("a URL that is not one", async () => {
    // Bad input, not a failed operation: exit code 2.
    expectOneLine(await runway(["stats", "--db", "postgres://user@:not-a-port/db"]), /not a valid PostgreSQL URL/, 2);
  });
});
