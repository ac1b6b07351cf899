import { expect } from 'chai';
import { execArgv, parseEnviron, shellQuote } from './container-streams.js';

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
