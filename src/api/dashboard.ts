// serveDashboard(): what `growbert dashboard` serves. The live, read-only web page of the runs in a
// folder (src/report/dashboard/), until the caller closes it or its AbortSignal fires.
import * as fs from 'node:fs';
import { z } from 'zod';
import { GrowbertError } from '../io/errors.js';
import { Dashboard } from '../report/dashboard/server.js';
import { checkAborted, parseOptions, type CallOptions } from './common.js';

export const DEFAULT_DASHBOARD_PORT = 6007; // TensorBoard's 6006, plus one: both can run side by side

/** The options of serveDashboard(): `growbert dashboard`'s argument and flags as fields. */
export const DashboardOptionsSchema = z
  .object({
    /** folder holding run folders (or one run folder) */
    runs: z.string().min(1).default('runs'),
    /** address to listen on (another than 127.0.0.1 exposes the runs to the network) */
    host: z.string().min(1).default('127.0.0.1'),
    /** port (0: any free port) */
    port: z.coerce.number().int().min(0).max(65535).default(DEFAULT_DASHBOARD_PORT),
  })
  .strict();
export type DashboardOptions = z.input<typeof DashboardOptionsSchema>;

export interface DashboardServer {
  /** the page's address, e.g. http://127.0.0.1:6007/ */
  url: string;
  /** the runs folder served, as an absolute path */
  root: string;
  /** stops serving (also what the AbortSignal does) */
  close(): Promise<void>;
  /** settles when the server has stopped, by close() or by the signal */
  closed: Promise<void>;
}

/** Starts the dashboard; it serves until close() or the signal. */
export async function serveDashboard(options: DashboardOptions = {}, call: CallOptions = {}): Promise<DashboardServer> {
  const o = parseOptions(DashboardOptionsSchema, options, 'dashboard options');
  checkAborted(call.signal, 'dashboard');
  if (!fs.statSync(o.runs, { throwIfNoEntry: false })?.isDirectory())
    throw new GrowbertError(
      `runs folder ${o.runs} does not exist; start a run first (growbert pretrain --out ${o.runs}/NAME) or name the folder that holds your runs`,
    );
  const dash = new Dashboard(o);
  let url: string;
  try {
    url = await dash.listen();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE')
      throw new GrowbertError(`port ${o.port} is in use; pick another with --port (0 picks a free one)`);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
      throw new GrowbertError(`cannot listen on --host ${o.host}; use an address of this machine, e.g. 127.0.0.1`);
    throw e;
  }
  let stopped: Promise<void> | undefined;
  let done!: () => void;
  const closed = new Promise<void>((resolve) => (done = resolve));
  const close = () => {
    call.signal?.removeEventListener('abort', close);
    stopped ??= dash.close().then(done);
    return stopped;
  };
  call.signal?.addEventListener('abort', close, { once: true });
  if (call.signal?.aborted) void close(); // fired while it was starting
  return { url, root: dash.root, close, closed };
}
