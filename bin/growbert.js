#!/usr/bin/env node
// The `growbert` command: the compiled CLI in dist/ (built by `npm run setup`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(cli))) {
  console.error('growbert: not built yet; run `npm run setup` in the growbert folder first');
  process.exit(1);
}
const { main } = await import(cli.href);
process.exitCode = await main(process.argv.slice(2));
