// `growbert setup`: sets up libtorch and builds the native addon again (after changing LIBTORCH, or when
// the libtorch it was built against is gone): scripts/setup.mjs in a checkout, scripts/install.mjs in an
// installed package. bin/growbert.js answers it before loading the CLI, which needs the addon; this
// registration lists it in --help and serves callers of main().
import type { Command } from 'commander';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';

export function setupScript(): string {
  const checkout = fs.existsSync(fileURLToPath(new URL('../../../tsconfig.json', import.meta.url)));
  return fileURLToPath(new URL(`../../../scripts/${checkout ? 'setup' : 'install'}.mjs`, import.meta.url));
}

export function registerSetup(program: Command): void {
  program
    .command('setup')
    .description('set up libtorch and build the native addon (LIBTORCH, LIBTORCH_USE_PYTORCH: see README)')
    .action(() => {
      const r = spawnSync(process.execPath, [setupScript()], { stdio: 'inherit' });
      process.exitCode = r.status ?? 1;
    });
}
