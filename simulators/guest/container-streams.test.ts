import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { ContainerRun } from '../../localcloud/cluster/container-record.js';
import { ContainerStdin } from '../../localcloud/cluster/container-stdin.js';
import { ManagedProcess } from '../../localcloud/process.js';
import { TerminalSizes } from '../../streaming/runtime.js';
import { execArgv, GuestContainerStreams, parseEnviron, shellQuote } from './container-streams.js';

describe('guest container streams', () => {
  const tools = { nsenter: '/usr/bin/nsenter', script: '/usr/bin/script' };
  it('enters every namespace of the container process, its root and working directory', () => {
    expect(execArgv(42, ['sh', '-c', 'echo hi'], false, tools)).to.deep.equal(['/usr/bin/nsenter', '-t', '42', '-m', '-u', '-n', '-r', '-w', '--', 'sh', '-c', 'echo hi']);
  });
  it('runs a tty command under script with the command quoted for its shell, keeping the exit code', () => {
    expect(execArgv(42, ['sh', '-c', "echo 'a b'"], true, tools)).to.deep.equal([
      '/usr/bin/script',
      '-qefc',
      `/usr/bin/nsenter -t 42 -m -u -n -r -w -- sh -c 'echo '\\''a b'\\'''`,
      '/dev/null',
    ]);
  });
  const quotes = [
    { arg: 'plain-word_1.2/x', want: 'plain-word_1.2/x' },
    { arg: '', want: "''" },
    { arg: '$HOME; rm -rf /', want: "'$HOME; rm -rf /'" },
  ];
  for (const tc of quotes) {
    it(`quotes ${JSON.stringify(tc.arg)} for sh`, () => {
      expect(shellQuote(tc.arg)).to.equal(tc.want);
    });
  }
  it("reads a process's environment, values with = and all", () => {
    expect(parseEnviron('A=1\0B=x=y\0\0')).to.deep.equal({ A: '1', B: 'x=y' });
  });
});

describe('guest container attach', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'kvcloud-attach-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  async function attachTo(script: string, stdinOnce: boolean, input: string): Promise<{ output: string; process: ManagedProcess }> {
    const logFile = join(dir, `${String(Date.now())}.log`);
    writeFileSync(logFile, '');
    const proc = await ManagedProcess.start({ name: 'reader', command: 'sh', args: ['-c', script], logFile, stdinPipe: true });
    if (!proc.stdin) throw new Error('no stdin pipe');
    const target = { podIP: '', ports: [], pid: proc.pid, env: new Map<string, string>(), resolveCommand: (argv: string[]) => argv };
    const run: ContainerRun = { process: proc, target, prober: undefined, startedAt: Date.now(), id: 'test', logFile, stdin: new ContainerStdin(proc.stdin, stdinOnce) };
    const streams = new GuestContainerStreams({ pods: () => [], containerRun: () => run });
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    let output = '';
    stdout.on('data', (d: Buffer) => (output += d.toString()));
    const session = new AbortController();
    const attached = streams.attach(
      { namespace: 'default', pod: 'reader', container: 'c' },
      { stdin, stdout, stderr: undefined, tty: false, resize: new TerminalSizes(), signal: session.signal },
    );
    stdin.end(input);
    // A container that never gets the input would keep the session open: leave it after a while and fail on the output.
    const deadline = setTimeout(() => {
      session.abort();
    }, 5_000);
    try {
      await attached;
    } finally {
      clearTimeout(deadline);
      session.abort();
      await proc.stop(1_000);
    }
    return { output, process: proc };
  }

  it('writes the input of an attach session to a container with stdin and follows its answer until it exits', async () => {
    const { output, process } = await attachTo('read line; echo got $line', false, 'hello\n');
    expect(output).to.equal('got hello\n');
    expect(process.exitStatus?.code).to.equal(0);
  });

  it('closes the stdin of a stdinOnce container when the attach input ends, so a reader to EOF finishes', async () => {
    const { output } = await attachTo('cat; echo " eof"', true, 'all of it');
    expect(output).to.equal('all of it eof\n');
  });
});
