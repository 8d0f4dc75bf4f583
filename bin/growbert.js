#!/usr/bin/env node
// The `growbert` command: the compiled CLI in dist/ (built by `npm run setup` in a checkout; shipped
// compiled in the npm package). `growbert setup` is answered here, before the CLI loads the native addon
// it sets up (src/cli/setup.ts says how).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(cli))) {
  console.error('growbert: not built yet; run `npm run setup` in the growbert folder first');
  process.exit(1);
}
if (process.argv[2] === 'setup') {
  const { setupScript } = await import(new URL('../dist/src/cli/setup.js', import.meta.url).href);
  const r = spawnSync(process.execPath, [setupScript(), ...process.argv.slice(3)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
let main;
try {
  ({ main } = await import(cli.href));
} catch (e) {
  // the CLI could not even load (its native addon, say): one line, --help included, never a loader stack
  console.error(`growbert: ${String(e instanceof Error ? e.message : e).split('\n')[0]}`);
  if (process.env.GROWBERT_DEBUG) console.error(e);
  process.exit(1);
}
process.exitCode = await main(process.argv.slice(2));
