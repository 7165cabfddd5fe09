/** What `npm publish` would ship: the library, the CLI, the server and its dashboard; no benchmark, demo or test. */
import { execFile } from "node:child_process";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { beforeAll, expect, it } from "vitest";
import { assertBuilt } from "./helpers/processes.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

let files: string[] = [];

beforeAll(async () => {
  assertBuilt();
  const { stdout } = await promisify(execFile)("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
  const packs = JSON.parse(stdout) as { files: { path: string }[] }[];
  expect(packs).toHaveLength(1);
  files = packs[0]!.files.map((f) => f.path);
}, 120_000);

/** The files of a source folder, as the build puts them under dist/. */
function built(srcDir: string, pattern: RegExp): string[] {
  return readdirSync(new URL(`../src/${srcDir}/`, import.meta.url))
    .filter((name) => pattern.test(name))
    .map((name) => `dist/${srcDir}/${name}`);
}

it("ships the library, the CLI, the server and the dashboard's assets", () => {
  expect(files).toEqual(
    expect.arrayContaining([
      "package.json",
      "README.md",
      "dist/index.js",
      "dist/index.d.ts",
      "dist/cli/main.js",
      "dist/server/serve.js",
      "dist/server/app.js",
      "dist/executors/ssh/target-client.js",
    ]),
  );
  const assets = [
    ...built("server/static", /\.(html|js|css|svg)$/),
    ...built("executors/ssh/server", /\.sh$/),
    ...built("store/sqlite/migrations", /\.sql$/),
    ...built("store/postgres/migrations", /\.sql$/),
  ];
  expect(assets).toEqual(expect.arrayContaining(["dist/server/static/index.html", "dist/server/static/app.js", "dist/server/static/app.css"]));
  expect(files).toEqual(expect.arrayContaining(assets));
});

it("ships nothing but dist/, package.json and the README: no benchmark, demo, example or test", () => {
  const outside = files.filter((p) => !p.startsWith("dist/") && !["package.json", "README.md"].includes(p));
  expect(outside).toEqual([]);
  const tools = files.filter((p) => p.split("/").some((part) => ["bench", "demo", "examples", "test"].includes(part)));
  expect(tools).toEqual([]);
});
