import { expect } from 'chai';
import { streamOptions } from './remote-command-options.js';
import { expectedStreams } from './remote-command.js';
import { ResizeDecoder } from './resize.js';
import { negotiateSpdy, selectWebSocketProtocol, SPDY_PORT_FORWARD, SPDY_REMOTE_COMMAND, WS_PORT_FORWARD, WS_REMOTE_COMMAND } from './negotiation.js';
import { statusBytes } from './status.js';

describe('streaming protocol negotiation', () => {
  const upgrade = { connection: 'Upgrade', upgrade: 'SPDY/3.1' };
  const spdy = [
    { name: 'the first client protocol the server speaks', headers: { ...upgrade, 'x-stream-protocol-version': 'v4.channel.k8s.io, v3.channel.k8s.io' }, want: { ok: true, protocol: 'v4.channel.k8s.io' } },
    { name: 'the client order, not the server one', headers: { ...upgrade, 'x-stream-protocol-version': 'v2.channel.k8s.io,v4.channel.k8s.io' }, want: { ok: true, protocol: 'v2.channel.k8s.io' } },
    { name: 'the unversioned v1 protocol', headers: { ...upgrade, 'x-stream-protocol-version': 'channel.k8s.io' }, want: { ok: true, protocol: 'channel.k8s.io' } },
  ];
  for (const tc of spdy) {
    it(`SPDY picks ${tc.name}`, () => {
      expect(negotiateSpdy(tc.headers, SPDY_REMOTE_COMMAND)).to.deep.equal(tc.want);
    });
  }
  const refused = [
    { name: 'without upgrade headers', headers: { 'x-stream-protocol-version': 'v4.channel.k8s.io' }, status: 400, accepted: undefined },
    { name: 'without a protocol header', headers: upgrade, status: 400, accepted: undefined },
    { name: 'with no common protocol, listing what it accepts', headers: { ...upgrade, 'x-stream-protocol-version': 'v9.channel.k8s.io' }, status: 403, accepted: [...SPDY_REMOTE_COMMAND] },
  ];
  for (const tc of refused) {
    it(`SPDY refuses a request ${tc.name} (${String(tc.status)})`, () => {
      const got = negotiateSpdy(tc.headers, SPDY_REMOTE_COMMAND);
      expect(got.ok).to.equal(false);
      if (!got.ok) {
        expect(got.status).to.equal(tc.status);
        expect(got.headers['x-accepted-stream-protocol-versions']).to.deep.equal(tc.accepted);
      }
    });
  }
  it('SPDY port forwarding speaks portforward.k8s.io only', () => {
    expect(negotiateSpdy({ ...upgrade, 'x-stream-protocol-version': ['v4.channel.k8s.io', 'portforward.k8s.io'] }, SPDY_PORT_FORWARD)).to.deep.equal({ ok: true, protocol: 'portforward.k8s.io' });
  });

  const ws = [
    { name: 'kubectl (v5 first)', offered: ['v5.channel.k8s.io', 'v4.channel.k8s.io'], server: WS_REMOTE_COMMAND, want: 'v5.channel.k8s.io' },
    { name: 'a base64 client', offered: ['base64.channel.k8s.io'], server: WS_REMOTE_COMMAND, want: 'base64.channel.k8s.io' },
    { name: 'v4 base64', offered: ['v4.base64.channel.k8s.io'], server: WS_REMOTE_COMMAND, want: 'v4.base64.channel.k8s.io' },
    { name: 'a client naming none (binary channels)', offered: [], server: WS_REMOTE_COMMAND, want: '' },
    { name: 'nothing for an unknown protocol', offered: ['v9.channel.k8s.io'], server: WS_REMOTE_COMMAND, want: undefined },
    { name: 'the SPDY tunnel for port forwarding', offered: ['SPDY/3.1+portforward.k8s.io'], server: WS_PORT_FORWARD, want: 'SPDY/3.1+portforward.k8s.io' },
    { name: 'v4 channels for port forwarding', offered: ['v4.channel.k8s.io'], server: WS_PORT_FORWARD, want: 'v4.channel.k8s.io' },
  ];
  for (const tc of ws) {
    it(`WebSocket picks ${tc.name}`, () => {
      expect(selectWebSocketProtocol(tc.offered, tc.server)).to.equal(tc.want);
    });
  }

  const streams = [
    { name: 'v4 with a tty: a resize stream and no stderr', protocol: 'v4.channel.k8s.io', query: 'input=1&output=1&error=1&tty=1', want: ['error', 'stdin', 'stdout', 'resize'] },
    { name: 'v4 with the apiserver flags for stdout and stderr', protocol: 'v4.channel.k8s.io', query: 'output=1&error=1', want: ['error', 'stdout', 'stderr'] },
    { name: 'v2 with a tty: no resize stream yet', protocol: 'v2.channel.k8s.io', query: 'output=1&tty=1', want: ['error', 'stdout'] },
    { name: 'a direct client naming stdout and stderr', protocol: 'v4.channel.k8s.io', query: 'stdout=true&stderr=true', want: ['error', 'stdout', 'stderr'] },
  ];
  for (const tc of streams) {
    it(`waits for the streams of ${tc.name}`, () => {
      expect([...expectedStreams(tc.protocol, streamOptions(new URLSearchParams(tc.query)))]).to.deep.equal(tc.want);
    });
  }
  it('refuses a session without stdin, stdout and stderr', () => {
    expect(() => streamOptions(new URLSearchParams('tty=1'))).to.throw(/at least 1 of stdin, stdout, stderr/);
  });

  const statuses = [
    { name: 'v4 success as a Success Status', protocol: 'v4.channel.k8s.io', outcome: { kind: 'exited', code: 0 } as const, want: { metadata: {}, status: 'Success' } },
    {
      name: 'v5 exit code 3 as NonZeroExitCode with an ExitCode cause',
      protocol: 'v5.channel.k8s.io',
      outcome: { kind: 'exited', code: 3, cmd: ['sh', '-c', 'exit 3'] } as const,
      want: {
        metadata: {},
        status: 'Failure',
        message: 'command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3',
        reason: 'NonZeroExitCode',
        details: { causes: [{ reason: 'ExitCode', message: '3' }] },
      },
    },
    { name: 'v4 runtime error as InternalError', protocol: 'v4.channel.k8s.io', outcome: { kind: 'error', message: 'no such container' } as const, want: { metadata: {}, status: 'Failure', message: 'no such container', reason: 'InternalError', code: 500 } },
  ];
  for (const tc of statuses) {
    it(`writes ${tc.name}`, () => {
      expect(JSON.parse(statusBytes(tc.protocol, tc.outcome).toString())).to.deep.equal(tc.want);
    });
  }
  it('writes nothing for success and plain text for failure before v4', () => {
    expect(statusBytes('v3.channel.k8s.io', { kind: 'exited', code: 0 }).length).to.equal(0);
    expect(statusBytes('channel.k8s.io', { kind: 'error', message: 'boom' }).toString()).to.equal('boom');
  });

  it('decodes resize messages split across chunks or several in one, skipping malformed ones', () => {
    const d = new ResizeDecoder();
    expect(d.push(Buffer.from('{"Width":80,'))).to.deep.equal([]);
    expect(d.push(Buffer.from('"Height":24}\n{"Width":-1,"Height":2}\n{"Width":100,"Height":50}\n'))).to.deep.equal([
      { width: 80, height: 24 },
      { width: 100, height: 50 },
    ]);
    expect(() => d.push(Buffer.from(`{${' '.repeat(5000)}`))).to.throw(/without a complete message/);
  });
});
