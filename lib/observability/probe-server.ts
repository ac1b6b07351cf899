// HTTP endpoints every kvcloud process serves: /metrics for Prometheus, /healthz and /readyz for the kubelet.
// Checks are named so a failing probe says which one failed, as kube-apiserver's verbose probes do.
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express, type Request, type Response } from 'express';
import type { Registry } from 'prom-client';
import type { BindAddress } from './bind-address.js';

/** A named check; returns undefined when healthy, or the reason it is not. */
export interface Check {
  readonly name: string;
  check(): string | undefined;
}

export interface ProbeServerOptions {
  /** Serves /metrics; undefined disables it. */
  metrics?: BindAddress | undefined;
  /** Serves /healthz and /readyz; undefined disables them. When equal to `metrics`, one server serves all three. */
  health?: BindAddress | undefined;
  registry: Registry;
  healthz: () => readonly Check[];
  readyz: () => readonly Check[];
}

export interface RunningProbeServer {
  /** http://host:port of the metrics endpoint's server, when enabled. */
  readonly metricsUrl: string | undefined;
  readonly healthUrl: string | undefined;
  close(): Promise<void>;
}

function sameAddress(a: BindAddress | undefined, b: BindAddress | undefined): boolean {
  if (!a || !b) return false;
  return a.host === b.host && a.port === b.port && a.port !== 0;
}

function respondToChecks(checks: readonly Check[], req: Request, res: Response): void {
  const lines: string[] = [];
  let healthy = true;
  for (const c of checks) {
    const reason = c.check();
    if (reason === undefined) lines.push(`[+]${c.name} ok`);
    else {
      healthy = false;
      lines.push(`[-]${c.name} failed: ${reason}`);
    }
  }
  res.status(healthy ? 200 : 500).type('text/plain');
  const verbose = req.query.verbose !== undefined;
  if (healthy && !verbose) res.send('ok');
  else res.send(`${lines.join('\n')}\n${healthy ? 'check passed' : 'check failed'}\n`);
}

function addMetrics(app: Express, registry: Registry): void {
  app.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });
}

function addHealth(app: Express, opts: ProbeServerOptions): void {
  app.get('/healthz', (req, res) => {
    respondToChecks(opts.healthz(), req, res);
  });
  app.get('/readyz', (req, res) => {
    respondToChecks(opts.readyz(), req, res);
  });
}

async function listen(app: Express, at: BindAddress): Promise<{ server: Server; url: string }> {
  const server = app.listen(at.port, at.host);
  await once(server, 'listening');
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return { server, url: `http://${host === '[::]' ? '[::1]' : host === '0.0.0.0' ? '127.0.0.1' : host}:${port}` };
}

export async function startProbeServer(opts: ProbeServerOptions): Promise<RunningProbeServer> {
  const servers: Server[] = [];
  let metricsUrl: string | undefined;
  let healthUrl: string | undefined;
  if (sameAddress(opts.metrics, opts.health) && opts.metrics) {
    const app = express();
    addMetrics(app, opts.registry);
    addHealth(app, opts);
    const { server, url } = await listen(app, opts.metrics);
    servers.push(server);
    metricsUrl = healthUrl = url;
  } else {
    if (opts.metrics) {
      const app = express();
      addMetrics(app, opts.registry);
      const { server, url } = await listen(app, opts.metrics);
      servers.push(server);
      metricsUrl = url;
    }
    if (opts.health) {
      const app = express();
      addHealth(app, opts);
      const { server, url } = await listen(app, opts.health);
      servers.push(server);
      healthUrl = url;
    }
  }
  return {
    metricsUrl,
    healthUrl,
    async close() {
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => {
                resolve();
              });
              // Keep-alive scrapers would otherwise hold the close open until their sockets idle out.
              s.closeAllConnections();
            }),
        ),
      );
    },
  };
}
