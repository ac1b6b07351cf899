// The task list `kvcloud demo` and `kvcloud local up` show while they work: each step, what it waits for, and for
// how long. The part inside the cluster's namespace records it (TaskList, saved as JSON after every change); the
// command the user runs reads it back and prints it (TaskPrinter): redrawn in place on a terminal, one line per
// change otherwise (logs, CI, the e2e suite reading the demo's output).

export interface TaskView {
  title: string;
  state: 'running' | 'done' | 'failed';
  /** What the step is waiting for right now, in words. */
  waitingFor?: string;
  startedAt: number;
  endedAt?: number;
  error?: string;
}

export interface TaskHandle {
  /** Says what the step waits for now; shown with the time the step has taken so far. */
  waiting(what: string): void;
}

/** A failed step: its title and why, so the user reads which step failed before the details. */
export class StepError extends Error {
  constructor(
    readonly step: string,
    cause: unknown,
  ) {
    super(`step "${step}" failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

export class TaskList {
  private readonly list: TaskView[] = [];

  constructor(
    private readonly onChange: (tasks: readonly TaskView[]) => void,
    private readonly now: () => number = Date.now,
  ) {}

  get tasks(): readonly TaskView[] {
    return this.list;
  }

  /** Runs one step as a task; a failure is recorded on the task and rethrown as a StepError naming it. */
  async run<T>(title: string, step: (task: TaskHandle) => Promise<T>): Promise<T> {
    const task: TaskView = { title, state: 'running', startedAt: this.now() };
    this.list.push(task);
    this.onChange(this.list);
    const handle: TaskHandle = {
      waiting: (what) => {
        if (task.waitingFor === what) return;
        task.waitingFor = what;
        this.onChange(this.list);
      },
    };
    try {
      const value = await step(handle);
      task.state = 'done';
      return value;
    } catch (err) {
      task.state = 'failed';
      task.error = err instanceof Error ? err.message : String(err);
      throw err instanceof StepError ? err : new StepError(title, err);
    } finally {
      task.endedAt = this.now();
      delete task.waitingFor;
      this.onChange(this.list);
    }
  }
}

const MARK: Record<TaskView['state'], string> = { running: '…', done: '✓', failed: '✗' };

function seconds(task: TaskView, now: number): string {
  const s = ((task.endedAt ?? now) - task.startedAt) / 1000;
  return task.state === 'running' ? `${Math.floor(s).toString()} s` : `${s.toFixed(1)} s`;
}

/** One line of the task list: mark, title, elapsed seconds, and what a running step waits for. */
export function renderTask(task: TaskView, now: number): string {
  const waiting = task.state === 'running' && task.waitingFor ? `, waiting for ${task.waitingFor}` : '';
  const error = task.state === 'failed' && task.error ? `: ${task.error.split('\n')[0] ?? ''}` : '';
  return `  ${MARK[task.state]} ${task.title} (${seconds(task, now)}${waiting})${error}`;
}

/**
 * What plain output prints for a task list it has seen in `before`: a line for each task that is new, finished,
 * or waits for something else now. A terminal gets the whole list redrawn instead.
 */
export function changedLines(before: readonly TaskView[], after: readonly TaskView[], now: number): string[] {
  const out: string[] = [];
  after.forEach((task, i) => {
    const prev = before[i];
    if (prev?.title !== task.title || prev.state !== task.state || prev.waitingFor !== task.waitingFor) out.push(renderTask(task, now));
  });
  return out;
}

/** How often plain output repeats a running step's line, so a long wait still shows its elapsed time. */
const HEARTBEAT_MS = 30_000;

export class TaskPrinter {
  private seen: TaskView[] = [];
  private drawn = 0;
  private lastLine = 0;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly tty = out.isTTY,
  ) {}

  show(tasks: readonly TaskView[], now = Date.now()): void {
    if (this.tty) {
      // Move up over the previous drawing and clear it, then draw the list again with the elapsed times ticking.
      const lines = tasks.map((t) => renderTask(t, now));
      this.out.write(`${this.drawn > 0 ? `\x1b[${this.drawn.toString()}A\x1b[J` : ''}${lines.map((l) => `${l}\n`).join('')}`);
      this.drawn = lines.length;
    } else {
      const lines = changedLines(this.seen, tasks, now);
      if (lines.length === 0 && now - this.lastLine >= HEARTBEAT_MS) lines.push(...tasks.filter((t) => t.state === 'running').map((t) => renderTask(t, now)));
      if (lines.length > 0) this.lastLine = now;
      for (const line of lines) this.out.write(`${line}\n`);
    }
    this.seen = tasks.map((t) => ({ ...t }));
  }

  /** Plain text below the list; the list is not redrawn over it. */
  print(text: string): void {
    this.out.write(`${text}\n`);
    this.drawn = 0;
  }
}
