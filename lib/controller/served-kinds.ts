// Answers "does the apiserver serve these kinds yet?" and waits until it does, by asking discovery again with
// backoff. This is how a controller whose CRDs are installed after the process started (Cluster API's, Gateway
// API's) begins without a restart. Discovery needs no RBAC beyond what every authenticated client has and also
// sees aggregated APIs, which a watch on CustomResourceDefinitions would need extra rights for and would miss.
import type { Logger } from 'pino';
import { describeType, type TypeMeta } from '../kube/object.js';
import type { RestMapper } from '../kube/rest-mapper.js';
import { Backoff, pause, type BackoffOptions } from './backoff.js';

export interface ServedKindsOptions {
  mapper: RestMapper;
  log: Logger;
  /** Delays between discovery requests while kinds are missing; default 1 s doubling to 10 s. */
  poll?: BackoffOptions | undefined;
}

export class ServedKinds {
  constructor(private readonly opts: ServedKindsOptions) {}

  /**
   * The kinds discovery does not list now. A failing discovery request is asked again with backoff rather than
   * answered "missing"; undefined means `signal` aborted before an answer.
   */
  async missing(kinds: readonly TypeMeta[], signal: AbortSignal): Promise<TypeMeta[] | undefined> {
    const backoff = this.backoff();
    while (!signal.aborted) {
      try {
        const served = await Promise.all(kinds.map((k) => this.opts.mapper.isServed(k)));
        return kinds.filter((_, i) => !served[i]);
      } catch (err) {
        const retryInMs = Math.round(backoff.next());
        this.opts.log.warn({ kinds: kinds.map(describeType), err: (err as Error).message, retryInMs }, 'cannot tell whether kinds are served');
        await pause(retryInMs, signal);
      }
    }
    return undefined;
  }

  /** Resolves true once every one of `missing` is served, false if `signal` aborts first. */
  async waitUntilServed(missing: readonly TypeMeta[], signal: AbortSignal): Promise<boolean> {
    const backoff = this.backoff();
    let left: TypeMeta[] | undefined = [...missing];
    while (left.length > 0) {
      await pause(backoff.next(), signal);
      left = await this.missing(left, signal);
      if (left === undefined || signal.aborted) return false;
    }
    return true;
  }

  private backoff(): Backoff {
    return new Backoff({ initialMs: 1000, maxMs: 10_000, ...this.opts.poll });
  }
}
