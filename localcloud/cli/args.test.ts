import { expect } from 'chai';
import { helpText, MAX_CLUSTERS, parseCommand, UsageError, type Command, type HelpTopic } from './args.js';

describe('localcloud/cli/args', () => {
  const cases: { argv: string[]; want: Command }[] = [
    { argv: [], want: { kind: 'help', topic: 'kvcloud' } },
    { argv: ['--help'], want: { kind: 'help', topic: 'kvcloud' } },
    { argv: ['demo'], want: { kind: 'up', profile: 'demo', clusters: 1 } },
    { argv: ['demo', '--clusters', '3'], want: { kind: 'up', profile: 'demo', clusters: 3 } },
    { argv: ['demo', '--clusters=2', '--state-dir', '/tmp/d'], want: { kind: 'up', profile: 'demo', clusters: 2, stateDir: '/tmp/d' } },
    { argv: ['demo', '-h'], want: { kind: 'help', topic: 'demo' } },
    { argv: ['demo', 'down'], want: { kind: 'down', profile: 'demo' } },
    { argv: ['demo', 'down', '--help'], want: { kind: 'help', topic: 'demo down' } },
    { argv: ['demo', 'status', '--json'], want: { kind: 'status', profile: 'demo', json: true } },
    { argv: ['local'], want: { kind: 'help', topic: 'local' } },
    { argv: ['local', 'up'], want: { kind: 'up', profile: 'local', clusters: 0 } },
    { argv: ['local', 'up', '--help'], want: { kind: 'help', topic: 'local up' } },
    { argv: ['local', 'down', '--state-dir=/tmp/x'], want: { kind: 'down', profile: 'local', stateDir: '/tmp/x' } },
    { argv: ['local', 'status'], want: { kind: 'status', profile: 'local', json: false } },
    { argv: ['local', 'status', '--json'], want: { kind: 'status', profile: 'local', json: true } },
    { argv: ['__host', '--profile', 'demo', '--clusters', '2', '--state-dir', '/s'], want: { kind: 'host', profile: 'demo', clusters: 2, stateDir: '/s' } },
    { argv: ['__serve', '--profile', 'local', '--state-dir', '/s'], want: { kind: 'serve', profile: 'local', clusters: 0, stateDir: '/s' } },
  ];
  for (const tc of cases) {
    it(`kvcloud ${tc.argv.join(' ') || '(nothing)'} -> ${tc.want.kind}`, () => {
      expect(parseCommand(tc.argv)).to.deep.equal(tc.want);
    });
  }

  const mistakes: { argv: string[]; message: RegExp; topic: HelpTopic }[] = [
    { argv: ['deploy'], message: /unknown command "deploy"/, topic: 'kvcloud' },
    { argv: ['local', 'start'], message: /unknown command "local start"/, topic: 'local' },
    { argv: ['demo', 'up'], message: /unknown command "demo up"/, topic: 'demo' },
    { argv: ['demo', '--clusters', '0'], message: /--clusters must be a whole number from 1 to 5, not "0"/, topic: 'demo' },
    { argv: ['demo', '--clusters', String(MAX_CLUSTERS + 1)], message: /from 1 to 5/, topic: 'demo' },
    { argv: ['demo', '--clusters', '2x'], message: /not "2x"/, topic: 'demo' },
    { argv: ['demo', '--clusters'], message: /--clusters/, topic: 'demo' },
    { argv: ['demo', '--cluster', '2'], message: /--cluster/, topic: 'demo' },
    { argv: ['local', 'up', '--clusters', '2'], message: /--clusters/, topic: 'local up' },
    { argv: ['local', 'status', 'extra'], message: /unexpected argument "extra"/, topic: 'local status' },
    { argv: ['demo', 'down', '--json'], message: /--json/, topic: 'demo down' },
    { argv: ['__host', '--profile', 'demo'], message: /__host needs --state-dir/, topic: 'kvcloud' },
    { argv: ['__serve', '--profile', 'prod', '--state-dir', '/s'], message: /--profile must be local or demo/, topic: 'kvcloud' },
  ];
  for (const tc of mistakes) {
    it(`rejects kvcloud ${tc.argv.join(' ')} as a usage error with the help of "${tc.topic}"`, () => {
      let caught: unknown;
      try {
        parseCommand(tc.argv);
      } catch (err) {
        caught = err;
      }
      expect(caught).to.be.instanceOf(UsageError);
      expect((caught as UsageError).message).to.match(tc.message);
      expect((caught as UsageError).topic).to.equal(tc.topic);
    });
  }

  it('has help for every topic, each starting with its usage line', () => {
    for (const topic of ['local up', 'local down', 'local status', 'demo', 'demo down', 'demo status'] as const) {
      expect(helpText(topic), topic).to.match(new RegExp(`^usage: kvcloud ${topic}\\b`));
    }
    expect(helpText('kvcloud')).to.match(/exit codes: 0 ok, 1 failure, 2 usage error/);
  });
});
