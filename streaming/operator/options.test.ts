import { expect } from 'chai';
import { DEFAULT_SOCKET, parseOperatorOptions } from './options.js';

describe('streaming/operator/options', () => {
  it('defaults to the socket under /run/kvcloud, mode 0660, streams on loopback and CAPK’s user', () => {
    const opts = parseOperatorOptions([]);
    expect([opts.socket, opts.socketMode, opts.streamAddress, opts.sshUser]).to.deep.equal([DEFAULT_SOCKET, 0o660, { host: '127.0.0.1', port: 0 }, 'capk']);
    expect(opts.flags.logLevel).to.equal('info');
  });

  it('takes the common flags alongside its own', () => {
    const opts = parseOperatorOptions(['--namespace', 'tenants', '--log-level', 'debug', '--socket', '/tmp/op.sock', '--socket-mode', '600', '--stream-address', ':10010', '--ssh-user', 'ops']);
    expect([opts.flags.namespace, opts.flags.logLevel, opts.socket, opts.socketMode, opts.streamAddress, opts.sshUser]).to.deep.equal(['tenants', 'debug', '/tmp/op.sock', 0o600, { host: '::', port: 10010 }, 'ops']);
  });

  const bad: { args: string[]; error: RegExp }[] = [
    { args: ['--socket-mode', 'rw'], error: /--socket-mode: "rw" is not an octal file mode/ },
    { args: ['--stream-address', '0'], error: /--stream-address: the streaming listener cannot be disabled/ },
    { args: ['--ssh-user', ''], error: /--ssh-user/ },
    { args: ['extra'], error: /unexpected arguments: extra/ },
  ];
  for (const tc of bad) {
    it(`refuses ${tc.args.join(' ')}`, () => {
      expect(() => parseOperatorOptions(tc.args)).to.throw(tc.error);
    });
  }
});
