// Durations of a suite's steps, kept to be printed together, so a slow run shows where its time went.
export interface StepTimer {
  /** `<step>: <seconds> s`, one line per timed step, in the order they ended. */
  readonly timings: string[];
  timed: <T>(what: string, work: () => Promise<T>) => Promise<T>;
}

export function stepTimer(): StepTimer {
  const timings: string[] = [];
  return {
    timings,
    timed: async <T>(what: string, work: () => Promise<T>): Promise<T> => {
      const started = Date.now();
      const result = await work();
      timings.push(`${what}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
      return result;
    },
  };
}
