// How a remote command's outcome reaches the client on the error stream. From v4 it is a JSON metav1.Status (a
// non-zero exit code as reason NonZeroExitCode with an ExitCode cause, which kubectl turns into its own exit
// code); before v4 only a failure is written, as plain text, and success is an empty stream.
export type Outcome = { kind: 'exited'; code: number; cmd?: readonly string[] } | { kind: 'error'; message: string };

export function hasStructuredStatus(protocol: string): boolean {
  return /^v[4-9]\./.test(protocol);
}

/** The bytes to write on the error stream; empty when nothing is to be written. */
export function statusBytes(protocol: string, outcome: Outcome): Buffer {
  const success = outcome.kind === 'exited' && outcome.code === 0;
  const message =
    outcome.kind === 'error'
      ? outcome.message
      : `command terminated with non-zero exit code: error executing command [${(outcome.cmd ?? []).join(' ')}], exit code ${String(outcome.code)}`;
  if (!hasStructuredStatus(protocol)) return Buffer.from(success ? '' : message);
  if (success) return Buffer.from(JSON.stringify({ metadata: {}, status: 'Success' }));
  const status =
    outcome.kind === 'exited'
      ? { metadata: {}, status: 'Failure', message, reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: String(outcome.code) }] } }
      : { metadata: {}, status: 'Failure', message, reason: 'InternalError', code: 500 };
  return Buffer.from(JSON.stringify(status));
}
