import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backoffMessage, restartAllowed, terminatedState } from './container-exit.js';

describe('container exit reporting', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'container-exit-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function runWithLog(log: string) {
    const logFile = join(dir, `${Math.random()}.log`);
    await writeFile(logFile, log);
    return { startedAt: Date.parse('2026-01-01T00:00:00Z'), id: 'kvcloud://u/app/0', logFile };
  }

  it('reports a clean exit as Completed', async () => {
    const t = await terminatedState({ name: 'app' }, await runWithLog('bye\n'), { code: 0, signal: null }, Date.parse('2026-01-01T00:00:05Z'));
    expect(t).to.deep.equal({ exitCode: 0, reason: 'Completed', startedAt: '2026-01-01T00:00:00Z', finishedAt: '2026-01-01T00:00:05Z', containerID: 'kvcloud://u/app/0' });
  });

  it('reports a kill as 128 + the signal number', async () => {
    const t = await terminatedState({ name: 'app' }, await runWithLog(''), { code: null, signal: 'SIGKILL' });
    expect(t).to.deep.include({ exitCode: 137, signal: 9, reason: 'Error' });
    expect(t.message).to.equal(undefined);
  });

  it('puts the log tail in the message for FallbackToLogsOnError', async () => {
    const t = await terminatedState({ name: 'app', terminationMessagePolicy: 'FallbackToLogsOnError' }, await runWithLog(`${'x'.repeat(5000)}\npanic: boom\n`), { code: 2, signal: null });
    expect(t.message?.endsWith('panic: boom')).to.be.true;
    expect(t.message?.length).to.be.at.most(4096);
  });

  it("reports container-entry.sh's own failure as StartError with its message", async () => {
    const t = await terminatedState({ name: 'app' }, await runWithLog('container setup: cannot create /x: ...\n'), { code: 128, signal: null });
    expect(t).to.deep.include({ exitCode: 128, reason: 'StartError', message: 'container setup: cannot create /x: ...' });
  });

  const policies: { policy: 'Always' | 'OnFailure' | 'Never'; init: boolean; code: number; want: boolean }[] = [
    { policy: 'Always', init: false, code: 0, want: true },
    { policy: 'OnFailure', init: false, code: 0, want: false },
    { policy: 'OnFailure', init: false, code: 1, want: true },
    { policy: 'Never', init: false, code: 1, want: false },
    { policy: 'Always', init: true, code: 0, want: false },
    { policy: 'Always', init: true, code: 1, want: true },
  ];
  for (const tc of policies) {
    it(`${tc.want ? 'restarts' : 'keeps stopped'} a${tc.init ? 'n init' : ''} container exiting ${tc.code} under ${tc.policy}`, () => {
      expect(restartAllowed(tc.policy, tc.init, tc.code)).to.equal(tc.want);
    });
  }

  it('phrases the back-off like the kubelet', () => {
    expect(backoffMessage(20_000, 'app', { name: 'web', namespace: 'shop', uid: 'u1' })).to.equal('back-off 20s restarting failed container=app pod=web_shop(u1)');
    expect(backoffMessage(300_000, 'app', {})).to.match(/^back-off 5m0s/);
  });
});
