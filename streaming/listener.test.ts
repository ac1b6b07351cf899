import { expect } from 'chai';
import { pino } from 'pino';
import { WebSocket } from 'ws';
import { listenStreaming } from './listener.js';
import type { StreamingRuntime } from './runtime.js';
import { StreamingServer } from './server.js';

/** Attach sessions last until the client leaves, as attaching to a long-running container does. */
const runtime: StreamingRuntime<string, string> = {
  exec: () => Promise.resolve(0),
  attach: (_c, io) =>
    new Promise((resolve) => {
      io.stdout?.write('attached\n');
      io.signal.addEventListener('abort', () => {
        resolve();
      });
    }),
  portForward: () => Promise.resolve(),
};

describe('streaming/listener', () => {
  it('serves the streaming URLs it is the base of, and closes at once with sessions still open, ending them', async () => {
    const server = new StreamingServer({ runtime, baseURL: 'https://10.0.0.1:10250/cri', log: pino({ level: 'silent' }) });
    const listener = await listenStreaming(server);
    expect(listener.baseURL).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
    const url = server.getAttach('c', { stdin: false, stdout: true, stderr: false, tty: false }, listener.baseURL);
    const ws = new WebSocket(url.replace(/^http/, 'ws'), ['v4.channel.k8s.io']);
    const output = await new Promise<string>((resolve, reject) => {
      let text = '';
      ws.on('message', (m: Buffer) => {
        if (m[0] === 1) text += m.subarray(1).toString();
        if (text.endsWith('\n')) resolve(text);
      });
      ws.once('error', reject);
    });
    expect(output).to.equal('attached\n');
    const closedByServer = new Promise((resolve) => ws.once('close', resolve));
    const started = Date.now();
    await listener.close();
    await closedByServer;
    expect(Date.now() - started, 'close does not wait for the client to leave').to.be.below(1_000);
    const deadline = Date.now() + 2_000;
    while (server.sessions > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(server.sessions).to.equal(0);
  });
});
