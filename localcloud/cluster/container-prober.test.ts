import { expect } from 'chai';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ContainerProber, type ProbeKind } from './container-prober.js';
import type { Container } from './pod-api.js';
import type { ProbeTarget } from './probe-actions.js';

describe('container prober', () => {
  let server: Server;
  let port: number;
  const answers: Record<string, number> = {};
  before(async () => {
    server = createServer((req, res) => {
      res.writeHead(answers[req.url ?? ''] ?? 404).end();
    }).listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    server.close();
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

  it('fails a TCP probe on a port nobody listens on', async () => {
    const { prober, seen, next } = watch({ name: 'c', livenessProbe: { tcpSocket: { port: 1 }, failureThreshold: 1 } });
    prober.start();
    await next();
    expect(seen.failed[0]).to.match(/^Liveness: dial tcp 127.0.0.1:1: connect ECONNREFUSED/);
    prober.stop();
  });
});
