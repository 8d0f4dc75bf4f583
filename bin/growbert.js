#!/usr/bin/env node
// The `growbert` command: the compiled CLI in dist/ (built by `npm run setup`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(cli))) {
  console.error('growbert: not built yet; run `npm run setup` in the growbert folder first');
  process.exit(1);
}
let main;
try {
  ({ main } = await import(cli.href));
} catch (e) {
  // the CLI could not even load (its native addon, say): one line, --help included, never a loader stack
  console.error(`growbert: ${String(e?.message ?? e).split('\n')[0]}`);
  if (process.env.GROWBERT_DEBUG) console.error(e?.stack);
  process.exit(1);
}
process.exitCode = await main(process.argv.slice(2));
