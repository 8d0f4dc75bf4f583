// `growbert dashboard [runs-folder]`: serves the live, read-only dashboard of the runs in a folder
// (src/api/dashboard.ts over src/report/dashboard/) until Ctrl-C.
import type { Command } from 'commander';
import { GrowbertError } from '../io/errors.js';
import { DEFAULT_DASHBOARD_PORT, DashboardOptionsSchema, serveDashboard } from '../api/dashboard.js';

export { DEFAULT_DASHBOARD_PORT };

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
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        const dash = await serveDashboard(parsed.data, { signal: stop.signal });
        console.log(`growbert dashboard: ${dash.url} (runs in ${dash.root}; Ctrl-C stops)`);
        await dash.closed;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
