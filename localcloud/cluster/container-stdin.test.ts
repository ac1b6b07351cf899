import { expect } from 'chai';
import { PassThrough } from 'node:stream';
import { ContainerStdin } from './container-stdin.js';

function collect(pipe: PassThrough): { text: () => string; ended: () => boolean } {
  let text = '';
  let ended = false;
  pipe.on('data', (d: Buffer) => (text += d.toString()));
  pipe.on('end', () => (ended = true));
  return { text: () => text, ended: () => ended };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('container stdin', () => {
  it('passes attach input through and keeps the pipe open across sessions without stdinOnce', async () => {
    const pipe = new PassThrough();
    const seen = collect(pipe);
    const stdin = new ContainerStdin(pipe, false);
    const first = new PassThrough();
    stdin.connect(first, new AbortController().signal);
    first.end('one\n');
    await tick();
    const second = new PassThrough();
    const leaving = new AbortController();
    stdin.connect(second, leaving.signal);
    second.write('two\n');
    await tick();
    leaving.abort();
    await tick();
    expect(seen.text()).to.equal('one\ntwo\n');
    expect(seen.ended()).to.be.false;
    expect(stdin.closed).to.be.false;
  });

  it('closes the pipe after the first session ends its input with stdinOnce, dropping later input', async () => {
    const pipe = new PassThrough();
    const seen = collect(pipe);
    const stdin = new ContainerStdin(pipe, true);
    const first = new PassThrough();
    stdin.connect(first, new AbortController().signal);
    first.end('line\n');
    await tick();
    expect(seen.ended()).to.be.true;
    expect(stdin.closed).to.be.true;
    const late = new PassThrough();
    stdin.connect(late, new AbortController().signal);
    late.end('dropped\n');
    await tick();
    expect(seen.text()).to.equal('line\n');
  });

  it('closes the pipe with stdinOnce when the first session goes away with its input still open', async () => {
    const pipe = new PassThrough();
    const seen = collect(pipe);
    const stdin = new ContainerStdin(pipe, true);
    const input = new PassThrough();
    const session = new AbortController();
    stdin.connect(input, session.signal);
    input.write('partial');
    await tick();
    session.abort();
    await tick();
    expect(seen.text()).to.equal('partial');
    expect(seen.ended()).to.be.true;
  });
});
