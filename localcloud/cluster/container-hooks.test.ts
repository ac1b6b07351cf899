import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { graceAfterHook, LAST_GRACE_MS, runHook } from './container-hooks.js';
import type { ProbeTarget } from './probe-actions.js';

const target = (port = 0): ProbeTarget => ({ podIP: '127.0.0.1', ports: [{ name: 'http', containerPort: port }], pid: process.pid, env: new Map(), resolveCommand: (argv) => argv });

describe('localcloud/cluster/container-hooks', () => {
  let server: Server;
  let port: number;
  const paths: string[] = [];
  before(async () => {
    server = createServer((req, res) => {
      paths.push(req.url ?? '');
      res.statusCode = req.url === '/fail' ? 500 : 200;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => server.close(() => { resolve(); })));

  it('takes an HTTP GET to the pod as the hook, a status from 200 to 399 succeeding, by port name too', async () => {
    expect(await runHook({ httpGet: { port: 'http', path: '/drain' } }, target(port), 1000, new AbortController().signal)).to.equal(undefined);
    expect(paths).to.include('/drain');
    expect(await runHook({ httpGet: { port, path: '/fail' } }, target(port), 1000, new AbortController().signal)).to.equal('HTTP probe failed with statuscode: 500');
  });

  it('sleeps as asked, no longer than the time it is given, and stops sleeping when aborted', async () => {
    let began = Date.now();
    expect(await runHook({ sleep: { seconds: 0.2 } }, target(), 5000, new AbortController().signal)).to.equal(undefined);
    expect(Date.now() - began).to.be.within(150, 2000);
    began = Date.now();
    await runHook({ sleep: { seconds: 30 } }, target(), 100, new AbortController().signal);
    expect(Date.now() - began, 'bounded by the grace left').to.be.below(2000);
    const aborted = new AbortController();
    began = Date.now();
    setTimeout(() => { aborted.abort(); }, 50);
    await runHook({ sleep: { seconds: 30 } }, target(), 60_000, aborted.signal);
    expect(Date.now() - began, 'aborted').to.be.below(2000);
  });

  it('refuses tcpSocket, which the API keeps for old objects only, and a hook without an action', async () => {
    expect(await runHook({ tcpSocket: { port } }, target(port), 1000, new AbortController().signal)).to.match(/tcpSocket is not supported/);
    expect(await runHook({}, target(), 1000, new AbortController().signal)).to.match(/no action/);
  });

  it('leaves SIGTERM what the hook did not use of the grace period, and a short last grace when it used it all', () => {
    expect(graceAfterHook(30_000, 1_000)).to.equal(29_000);
    expect(graceAfterHook(30_000, 30_000)).to.equal(LAST_GRACE_MS);
    expect(graceAfterHook(30_000, 45_000)).to.equal(LAST_GRACE_MS);
    expect(graceAfterHook(1_000, 1_000), 'never more than the grace period itself').to.equal(1_000);
    expect(graceAfterHook(0, 0), 'grace 0: at once').to.equal(0);
  });
});
