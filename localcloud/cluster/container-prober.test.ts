import { expect } from 'chai';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ContainerProber, type ProbeKind } from './container-prober.js';
import type { Container } from './pod-api.js';
import type { ProbeTarget } from './probe-actions.js';

describe('container prober', () => {
  let server: Server;
  let port: number;
  const answers: Record<string, number> = {};
  /** Called with the connection of a request to /hangs, which is never answered. */
  let hanging: (socket: Socket) => void = () => undefined;
  before(async () => {
    server = createServer((req, res) => {
      if (req.url === '/hangs') hanging(req.socket);
      else res.writeHead(answers[req.url ?? ''] ?? 404).end();
    }).listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    server.close();
    server.closeAllConnections();
  });

  function watch(container: Container) {
    const seen = { changes: 0, unhealthy: [] as string[], failed: [] as string[] };
    const target: ProbeTarget = { podIP: '127.0.0.1', ports: [{ name: 'http', containerPort: port }], pid: process.pid, env: new Map(), resolveCommand: (c) => c };
    let notify: () => void = () => undefined;
    const prober = new ContainerProber(container, target, {
      changed: () => {
        seen.changes++;
        notify();
      },
      unhealthy: (kind: ProbeKind, message) => seen.unhealthy.push(`${kind}: ${message}`),
      failed: (kind, message) => {
        seen.failed.push(`${kind}: ${message}`);
        notify();
      },
    });
    const next = () => new Promise<void>((resolve) => (notify = resolve));
    return { prober, seen, next };
  }

  it('is started and ready at once without probes', () => {
    const { prober } = watch({ name: 'c' });
    prober.start();
    expect([prober.started, prober.ready]).to.deep.equal([true, true]);
    prober.stop();
  });

  it('runs readiness only after the startup probe passed, by named port', async () => {
    answers['/started'] = 200;
    answers['/ready'] = 204;
    const { prober, next } = watch({ name: 'c', startupProbe: { httpGet: { path: '/started', port: 'http' } }, readinessProbe: { httpGet: { path: '/ready', port: 'http' } } });
    prober.start();
    expect([prober.started, prober.ready]).to.deep.equal([false, false]);
    await next();
    expect(prober.started).to.be.true;
    await next();
    expect(prober.ready).to.be.true;
    prober.stop();
  });

  it('reports a liveness probe failing its threshold, with the kubelet-style message', async () => {
    answers['/live'] = 500;
    const { prober, seen, next } = watch({ name: 'c', livenessProbe: { httpGet: { path: '/live', port }, failureThreshold: 1 } });
    prober.start();
    await next();
    expect(seen.failed).to.deep.equal(['Liveness: HTTP probe failed with statuscode: 500']);
    expect(seen.unhealthy).to.have.length(1);
    prober.stop();
  });

  it('keeps probing readiness while the pod terminates, turning unready and ready again, but stops the liveness probe', async () => {
    answers['/ready-while-terminating'] = 200;
    answers['/live-while-terminating'] = 200;
    const { prober, seen, next } = watch({
      name: 'c',
      readinessProbe: { httpGet: { path: '/ready-while-terminating', port }, periodSeconds: 1, failureThreshold: 1 },
      livenessProbe: { httpGet: { path: '/live-while-terminating', port }, periodSeconds: 1, failureThreshold: 1 },
    });
    prober.start();
    await next();
    expect(prober.ready).to.be.true;
    prober.terminating();
    // Shutting down: the program stops serving, and would fail its liveness probe too.
    answers['/ready-while-terminating'] = 503;
    answers['/live-while-terminating'] = 500;
    await next();
    expect(prober.ready, 'unready after the failed readiness probe').to.be.false;
    answers['/ready-while-terminating'] = 200;
    await next();
    expect(prober.ready, 'ready again: readiness is still probed').to.be.true;
    // Two liveness periods have passed: a liveness probe still running would have failed by now.
    expect([seen.failed, seen.unhealthy]).to.deep.equal([[], ['Readiness: HTTP probe failed with statuscode: 503']]);
    prober.stop();
  });

  it('counts a startup probe still pending when the pod terminates as passed, then probes readiness but not liveness', async () => {
    answers['/ready-after-startup'] = 200;
    const { prober, seen, next } = watch({
      name: 'c',
      startupProbe: { httpGet: { path: '/not-started', port }, initialDelaySeconds: 60 },
      readinessProbe: { httpGet: { path: '/ready-after-startup', port } },
      livenessProbe: { httpGet: { path: '/not-alive', port }, failureThreshold: 1 },
    });
    prober.start();
    expect(prober.started).to.be.false;
    prober.terminating();
    expect([prober.started, prober.ready, seen.changes]).to.deep.equal([true, false, 1]);
    await next();
    expect([prober.ready, seen.failed, seen.unhealthy]).to.deep.equal([true, [], []]);
    prober.stop();
  });

  it('fails a TCP probe on a port nobody listens on', async () => {
    const { prober, seen, next } = watch({ name: 'c', livenessProbe: { tcpSocket: { port: 1 }, failureThreshold: 1 } });
    prober.start();
    await next();
    expect(seen.failed[0]).to.match(/^Liveness: dial tcp 127.0.0.1:1: connect ECONNREFUSED/);
    prober.stop();
  });

  it('ends a probe still waiting for its answer when stopped, instead of holding its connection until the timeout', async () => {
    const probed = new Promise<Socket>((resolve) => (hanging = resolve));
    const { prober, seen } = watch({ name: 'c', readinessProbe: { httpGet: { path: '/hangs', port }, timeoutSeconds: 15 } });
    prober.start();
    const connection = await probed;
    prober.stop();
    const closed = await Promise.race([once(connection, 'close').then(() => true), sleep(2000).then(() => false)]);
    expect(closed, 'the probe connection closed within 2 s of stop(), not after its 15 s timeout').to.be.true;
    expect([prober.ready, seen.unhealthy]).to.deep.equal([false, []]);
  });
});
