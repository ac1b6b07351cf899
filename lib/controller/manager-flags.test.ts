import { expect } from 'chai';
import { parseDuration, parseManagerFlags } from './manager-flags.js';

describe('lib/controller/manager-flags', () => {
  it('defaults to what Cluster API managers default to', () => {
    const { flags } = parseManagerFlags([]);
    expect(flags).to.deep.include({
      leaderElect: false,
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      metricsBindAddress: ':8080',
      healthProbeBindAddress: ':9440',
      concurrency: 10,
      logLevel: 'info',
    });
  });

  it('parses the common flags', () => {
    const { flags } = parseManagerFlags([
      '--kubeconfig=/tmp/kc',
      '--namespace',
      'capk-system',
      '--leader-elect',
      '--leader-elect-lease-duration=6s',
      '--metrics-bind-address=127.0.0.1:0',
      '--health-probe-bind-address=0',
      '--concurrency=3',
    ]);
    expect(flags).to.deep.include({
      kubeconfig: '/tmp/kc',
      namespace: 'capk-system',
      leaderElect: true,
      leaseDurationMs: 6000,
      metricsBindAddress: '127.0.0.1:0',
      healthProbeBindAddress: '0',
      concurrency: 3,
    });
  });

  const levels: { args: string[]; level: string }[] = [
    { args: ['-v'], level: 'debug' },
    { args: ['-vv'], level: 'trace' },
    { args: ['-v', '-v'], level: 'trace' },
    { args: ['--log-level=warn'], level: 'warn' },
    { args: ['--log-level=error', '-vv'], level: 'error' },
  ];
  for (const tc of levels) {
    it(`sets the log level to ${tc.level} from ${tc.args.join(' ')}`, () => {
      expect(parseManagerFlags(tc.args).flags.logLevel).to.equal(tc.level);
    });
  }

  it('accepts a component option next to the common ones', () => {
    const { values } = parseManagerFlags(['--infra-cluster-secret=ns/name', '--leader-elect'], { 'infra-cluster-secret': { type: 'string' } });
    expect(values['infra-cluster-secret']).to.equal('ns/name');
  });

  it('rejects unknown flags, bad durations, bad levels and bad concurrency with the flag named', () => {
    expect(() => parseManagerFlags(['--nope'])).to.throw(/nope/);
    expect(() => parseManagerFlags(['--leader-elect-lease-duration=soon'])).to.throw(/leader-elect-lease-duration/);
    expect(() => parseManagerFlags(['--log-level=loud'])).to.throw(/--log-level/);
    expect(() => parseManagerFlags(['--concurrency=0'])).to.throw(/--concurrency/);
  });

  it('parses Go-style durations', () => {
    expect(parseDuration('1m30s', 'x')).to.equal(90_000);
    expect(parseDuration('250ms', 'x')).to.equal(250);
  });
});
