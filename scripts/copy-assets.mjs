// tsc does not copy non-TS files: the stores read their numbered migrations at run time, the SSH
// executor installs its server-side scripts from their files, and the server serves the dashboard
// (static/ and the lib/ and views/ folders of its modules).
// `node scripts/copy-assets.mjs [to]`: beside a build of src/ in `to` (default dist, the package's).
import { cpSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";

const out = process.argv[2] ?? "dist";

function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (/\.(sql|sh)$/.test(name) || (/(^|\/)static(\/|$)/.test(dir) && /\.(html|js|css|svg)$/.test(name))) {
      const to = join(out, relative("src", path));
      mkdirSync(dirname(to), { recursive: true });
      cpSync(path, to);
    }
  }
}
walk("src");
