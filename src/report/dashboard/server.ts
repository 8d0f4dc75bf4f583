// `growbert dashboard`: a local, read-only web page over a runs folder. The page
// (assets/index.html, dashboard.js) polls the JSON API below and draws its charts with Vega-Lite
// through vega-embed, all served from node_modules: the page needs no network.
//   GET /                         the page
//   GET /assets/<name>            the page's scripts, styles and font (a fixed list)
//   GET /api/runs                 the run and compare folders under the runs folder
//   GET /api/run?id=&file=&offset= a run's new metrics lines since `offset` (a sample of a big log), config, plan
//   GET /api/compare?id=          a compare folder's results.json, report.md and plot names
//   GET /files/<path>             a file under the runs folder (the compare plots)
// Only GET and HEAD; nothing is ever written. Paths are checked by safe-path.ts.
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runPaths } from '../../train/run.js';
import { FONT_FILES } from '../text-metrics.js';
import { NotAFile, PathRefused, decodePath, openInside, resolveUnder } from './safe-path.js';
import { MetricsIndexes } from './metrics-index.js';
import { listRuns, readCompare, readJson } from './runs.js';

const require = createRequire(import.meta.url);
const PAGE_DIR = fileURLToPath(new URL('../../../../src/report/dashboard/assets/', import.meta.url));
const pkgFile = (pkg: string, file: string) => path.join(path.dirname(require.resolve(pkg)), file);

/** Everything under /assets/: name -> file. Nothing else is served from outside the runs folder. */
export const ASSETS: Record<string, string> = {
  'dashboard.js': path.join(PAGE_DIR, 'dashboard.js'),
  'dashboard.css': path.join(PAGE_DIR, 'dashboard.css'),
  'vega.min.js': pkgFile('vega', 'vega.min.js'),
  'vega-lite.min.js': pkgFile('vega-lite', 'vega-lite.min.js'),
  'vega-embed.min.js': pkgFile('vega-embed', 'vega-embed.min.js'),
  'DejaVuSans.ttf': FONT_FILES.regular,
  'DejaVuSans-Bold.ttf': FONT_FILES.bold,
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.jsonl': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ttf': 'font/ttf',
};

const HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-store',
  // Vega compiles its expressions with Function(): hence 'unsafe-eval'. No other origin is reachable.
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:",
};

export interface DashboardOptions {
  runs: string;
  host: string;
  port: number;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

export class Dashboard {
  readonly root: string;
  private server: http.Server;
  /** the metrics logs being read (incrementally, in the background: metrics-index.ts) */
  private readonly metrics: MetricsIndexes;

  constructor(private readonly o: DashboardOptions) {
    this.root = path.resolve(o.runs);
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => this.fail(res, e));
    });
    this.metrics = new MetricsIndexes(this.root);
  }

  /** Starts listening; resolves to the page's URL. */
  async listen(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.o.port, this.o.host, () => resolve());
    });
    const a = this.server.address() as AddressInfo;
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return `http://${host}:${a.port}/`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'read-only: GET and HEAD only');
    // Bound to loopback, answer only requests addressed to loopback (no DNS rebinding).
    const hostName = (req.headers.host ?? '').replace(/:\d+$/, '');
    if (LOOPBACK.has(this.o.host) && !LOOPBACK.has(hostName))
      throw new HttpError(403, 'this dashboard answers only on localhost');
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const pathname = q < 0 ? raw : raw.slice(0, q);
    const params = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
    if (pathname === '/favicon.ico') {
      res.writeHead(204, HEADERS);
      return void res.end();
    }
    if (pathname === '/' || pathname === '/index.html')
      return this.sendFile(res, req, path.join(PAGE_DIR, 'index.html'));
    if (pathname.startsWith('/assets/')) {
      const file = ASSETS[pathname.slice('/assets/'.length)];
      if (!file) throw new HttpError(404, 'no such asset');
      return this.sendFile(res, req, file);
    }
    if (pathname === '/api/runs') return this.sendJson(res, req, { root: this.root, runs: listRuns(this.root) });
    if (pathname === '/api/run') return this.sendJson(res, req, await this.run(params));
    if (pathname === '/api/compare') return this.sendJson(res, req, readCompare(this.root, this.dirParam(params)));
    if (pathname.startsWith('/files/')) {
      const file = resolveUnder(this.root, decodePath(pathname.slice('/files/'.length)));
      return this.sendFile(res, req, file, this.root);
    }
    throw new HttpError(404, 'not found');
  }

  private fail(res: http.ServerResponse, e: unknown): void {
    const status =
      e instanceof HttpError ? e.status : e instanceof PathRefused ? 403 : e instanceof NotAFile ? 404 : 500;
    if (!res.headersSent) res.writeHead(status, { ...HEADERS, 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(status === 500 ? 'internal error\n' : `${(e as Error).message}\n`);
  }

  /** A run's metrics lines since `offset` (a bounded sample of a big log), with its config and plan on the first. */
  private async run(params: URLSearchParams): Promise<unknown> {
    const dir = this.dirParam(params);
    const offset = Number(params.get('offset') ?? 0);
    const from = { file: params.get('file') ?? undefined, offset: Number.isFinite(offset) && offset >= 0 ? offset : 0 };
    const index = this.metrics.get(runPaths(dir).metrics);
    if (index) await index.advance();
    const chunk = index?.view(from) ?? { file: '', offset: 0, reset: from.offset !== 0, lines: [] };
    const first = chunk.reset || !(offset > 0);
    // The config and the plan only with the first chunk (they change only on a resume, which resets).
    if (!first) return chunk;
    return {
      ...chunk,
      config: readJson(this.root, runPaths(dir).config),
      schedule: readJson(this.root, runPaths(dir).schedule),
    };
  }

  /** The `id` query parameter as a folder under the runs folder (404 once it is removed). */
  private dirParam(params: URLSearchParams): string {
    const id = params.get('id');
    if (id === null) throw new HttpError(400, 'missing id');
    const dir = resolveUnder(this.root, id);
    if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new HttpError(404, `no run folder ${id}`);
    return dir;
  }

  private sendJson(res: http.ServerResponse, req: http.IncomingMessage, body: unknown): void {
    const data = Buffer.from(JSON.stringify(body));
    res.writeHead(200, { ...HEADERS, 'Content-Type': TYPES['.json'], 'Content-Length': data.length });
    res.end(req.method === 'HEAD' ? undefined : data);
  }

  /**
   * Streams a regular file (any size: a file over 2 GiB is not read into memory); under the runs
   * folder (`root`) only a file whose real path stays inside it. A folder, FIFO or device is
   * answered with what it is, never read.
   */
  private sendFile(res: http.ServerResponse, req: http.IncomingMessage, file: string, root?: string): void {
    let opened: { fd: number; size: number };
    try {
      opened = openInside(root ?? null, file);
    } catch (e) {
      if (e instanceof PathRefused || e instanceof NotAFile) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      throw new HttpError(404, code === 'ENOENT' ? `${path.basename(file)} does not exist` : 'not found');
    }
    const type = TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
    res.writeHead(200, { ...HEADERS, 'Content-Type': type, 'Content-Length': opened.size });
    if (req.method === 'HEAD' || opened.size === 0) {
      fs.closeSync(opened.fd);
      return void res.end();
    }
    const stream = fs.createReadStream('', { fd: opened.fd, start: 0, end: opened.size - 1, autoClose: true });
    stream.on('error', () => res.destroy());
    stream.pipe(res);
  }
}
