// tsc does not copy non-TS files: the stores read their numbered migrations at run time, and
// the SSH executor installs its server-side scripts from their files.
import { cpSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";

function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (name.endsWith(".sql") || name.endsWith(".sh")) {
      const to = path.replace(/^src/, "dist");
      mkdirSync(dirname(to), { recursive: true });
      cpSync(path, to);
    }
  }
}
walk("src");
