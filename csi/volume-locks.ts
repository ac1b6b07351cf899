// One operation per volume at a time: the CSI spec has a second concurrent call on the same volume answered with
// ABORTED, so the CO retries it after the first finished instead of both racing on one hot-plug or mount.
import { aborted } from './status.js';

export class VolumeLocks {
  private readonly held = new Set<string>();

  async run<T>(volumeId: string, operation: string, fn: () => Promise<T>): Promise<T> {
    if (this.held.has(volumeId)) throw aborted(`${operation}: an operation on volume ${volumeId} is already in progress`);
    this.held.add(volumeId);
    try {
      return await fn();
    } finally {
      this.held.delete(volumeId);
    }
  }
}
