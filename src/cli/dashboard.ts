// `growbert dashboard [runs-folder]`: serves the live, read-only dashboard of the runs in a folder
// (src/report/dashboard/) until Ctrl-C.
import type { Command } from 'commander';
import * as fs from 'node:fs';
import { z } from 'zod';
import { GrowbertError } from '../io/errors.js';
import { Dashboard } from '../report/dashboard/server.js';

export const DashboardOptionsSchema = z
  .object({
    runs: z.string().min(1),
    host: z.string().min(1),
    port: z.coerce.number().int().min(0).max(65535),
  })
  .strict();

export const DEFAULT_DASHBOARD_PORT = 6007; // TensorBoard's 6006, plus one: both can run side by side

export function registerDashboard(program: Command): void {
  program
    .command('dashboard')
    .description(
      'a live web page of the runs in a folder (loss against step, time and FLOPs; LR; throughput; growth events; configs; compare reports)',
    )
    .argument('[runs-folder]', 'folder holding run folders (or one run folder)', 'runs')
    .option(
      '--host <address>',
      'address to listen on (another than 127.0.0.1 exposes your runs to the network)',
      '127.0.0.1',
    )
    .option('--port <n>', `port (0: any free port)`, String(DEFAULT_DASHBOARD_PORT))
    .action(async (runs: string, opts: { host: string; port: string }) => {
      const parsed = DashboardOptionsSchema.safeParse({ runs, host: opts.host, port: opts.port });
      if (!parsed.success) throw new GrowbertError(`--port ${opts.port}: expected an integer from 0 to 65535`);
      if (!fs.statSync(runs, { throwIfNoEntry: false })?.isDirectory()) {
        throw new GrowbertError(
          `runs folder ${runs} does not exist; start a run first (growbert pretrain --out ${runs}/NAME) or name the folder that holds your runs`,
        );
      }
      const dash = new Dashboard(parsed.data);
      let url: string;
      try {
        url = await dash.listen();
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE')
          throw new GrowbertError(`port ${opts.port} is in use; pick another with --port (0 picks a free one)`);
        if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
          throw new GrowbertError(
            `cannot listen on --host ${opts.host}; use an address of this machine, e.g. 127.0.0.1`,
          );
        throw e;
      }
      console.log(`growbert dashboard: ${url} (runs in ${dash.root}; Ctrl-C stops)`);
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void dash.close().then(resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
