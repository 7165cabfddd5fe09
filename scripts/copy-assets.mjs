// tsc does not copy non-TS files: the stores read their numbered migrations at run time, the SSH
// executor installs its server-side scripts from their files, and the server serves the dashboard
// (static/ and the lib/ and views/ folders of its modules).
import { cpSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";

function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (/\.(sql|sh)$/.test(name) || (/(^|\/)static(\/|$)/.test(dir) && /\.(html|js|css|svg)$/.test(name))) {
      const to = path.replace(/^src/, "dist");
      mkdirSync(dirname(to), { recursive: true });
      cpSync(path, to);
    }
  }
}
walk("src");
