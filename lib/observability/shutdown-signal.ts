// SIGTERM/SIGINT handling shared by every binary: the first signal starts a graceful stop (watches closed,
// queues drained, Lease released); a second one exits at once for an operator who is done waiting.
import type { Logger } from 'pino';

export function onShutdownSignal(stop: (signal: NodeJS.Signals) => Promise<void>, log: Logger): () => void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log.warn({ signal }, 'received second signal, exiting immediately');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'received signal, shutting down');
    stop(signal).then(
      () => {
        log.info('shut down cleanly');
      },
      (err: unknown) => {
        log.error({ err }, 'graceful shutdown failed');
        process.exitCode = 1;
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  return () => {
    process.off('SIGTERM', handler);
    process.off('SIGINT', handler);
  };
}
