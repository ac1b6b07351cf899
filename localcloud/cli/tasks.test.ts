import { expect } from 'chai';
import { changedLines, renderTask, StepError, TaskList, TaskPrinter, type TaskView } from './tasks.js';

describe('localcloud/cli/tasks', () => {
  it('renders a running step with whole seconds and what it waits for, a finished one with tenths', () => {
    expect(renderTask({ title: 'clusterctl init', state: 'running', waitingFor: 'the providers to be Available', startedAt: 1000 }, 43_900)).to.equal(
      '  … clusterctl init (42 s, waiting for the providers to be Available)',
    );
    expect(renderTask({ title: 'management cluster', state: 'done', startedAt: 1000, endedAt: 9150 }, 20_000)).to.equal('  ✓ management cluster (8.2 s)');
  });

  it('renders a failed step with the first line of its error', () => {
    expect(renderTask({ title: 'tenant acme: Cluster Available', state: 'failed', startedAt: 0, endedAt: 300_000, error: 'timed out\nmore detail' }, 0)).to.equal(
      '  ✗ tenant acme: Cluster Available (300.0 s): timed out',
    );
  });

  it('prints, in plain output, only the tasks that are new, finished or wait for something else', () => {
    const before: TaskView[] = [
      { title: 'a', state: 'done', startedAt: 0, endedAt: 1000 },
      { title: 'b', state: 'running', startedAt: 1000, waitingFor: 'x' },
    ];
    const after: TaskView[] = [
      { title: 'a', state: 'done', startedAt: 0, endedAt: 1000 },
      { title: 'b', state: 'running', startedAt: 1000, waitingFor: 'y' },
      { title: 'c', state: 'running', startedAt: 2000 },
    ];
    expect(changedLines(before, after, 3000)).to.deep.equal(['  … b (2 s, waiting for y)', '  … c (1 s)']);
    expect(changedLines(after, after, 9000)).to.deep.equal([]);
  });

  it('records each step, and a failure as a StepError naming the step, with the task marked failed', async () => {
    let clock = 0;
    const seen: string[] = [];
    const list = new TaskList((tasks) => seen.push(tasks.map((t) => `${t.title}:${t.state}${t.waitingFor ? `:${t.waitingFor}` : ''}`).join(',')), () => (clock += 1000));
    expect(await list.run('one', (t) => {
      t.waiting('it');
      return Promise.resolve(7);
    })).to.equal(7);
    const err = await list.run('two', () => Promise.reject(new Error('etcd is down'))).then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(StepError);
    expect((err as StepError).message).to.equal('step "two" failed: etcd is down');
    expect(seen).to.deep.equal(['one:running', 'one:running:it', 'one:done', 'one:done,two:running', 'one:done,two:failed']);
    expect(list.tasks[1]).to.deep.include({ state: 'failed', error: 'etcd is down', startedAt: 3000, endedAt: 4000 });
  });

  it('repeats, in plain output, the running steps every 30 s of silence, so a long wait shows its time', () => {
    let written = '';
    const out = { write: (s: string) => (written += s), isTTY: false } as unknown as NodeJS.WriteStream;
    const printer = new TaskPrinter(out, false);
    const tasks: TaskView[] = [{ title: 'clusterctl init', state: 'running', startedAt: 0, waitingFor: 'the providers' }];
    printer.show(tasks, 1000);
    printer.show(tasks, 20_000);
    printer.show(tasks, 31_000);
    expect(written.split('\n').filter(Boolean)).to.deep.equal(['  … clusterctl init (1 s, waiting for the providers)', '  … clusterctl init (31 s, waiting for the providers)']);
  });
});
