// CSI errors as gRPC statuses: every failure the driver reports carries the code the CSI spec names for it, and
// an error from the infra apiserver is translated by meaning (missing, conflicting, refused, unreachable), never
// left as a blanket INTERNAL.
import { status as Status } from '@grpc/grpc-js';
import { ApiError } from '../lib/kube/api-error.js';

export class CsiError extends Error {
  override readonly name = 'CsiError';
  constructor(
    readonly code: Status,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export const invalidArgument = (message: string) => new CsiError(Status.INVALID_ARGUMENT, message);
export const notFound = (message: string) => new CsiError(Status.NOT_FOUND, message);
export const alreadyExists = (message: string) => new CsiError(Status.ALREADY_EXISTS, message);
export const failedPrecondition = (message: string) => new CsiError(Status.FAILED_PRECONDITION, message);
export const outOfRange = (message: string) => new CsiError(Status.OUT_OF_RANGE, message);
export const resourceExhausted = (message: string) => new CsiError(Status.RESOURCE_EXHAUSTED, message);
export const aborted = (message: string) => new CsiError(Status.ABORTED, message);
export const unavailable = (message: string) => new CsiError(Status.UNAVAILABLE, message);
export const deadlineExceeded = (message: string) => new CsiError(Status.DEADLINE_EXCEEDED, message);

/** The gRPC code of an apiserver answer, by its HTTP status. */
export function codeOfApiError(err: ApiError): Status {
  switch (err.status) {
    case 400:
    case 422:
      return Status.INVALID_ARGUMENT;
    case 401:
      return Status.UNAUTHENTICATED;
    case 403:
      return Status.PERMISSION_DENIED;
    case 404:
      return Status.NOT_FOUND;
    case 409:
      return err.reason === 'AlreadyExists' ? Status.ALREADY_EXISTS : Status.ABORTED;
    case 429:
      return Status.RESOURCE_EXHAUSTED;
    case 504:
      return Status.DEADLINE_EXCEEDED;
    default:
      return err.status >= 500 ? Status.UNAVAILABLE : Status.UNKNOWN;
  }
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);

/** The status an RPC fails with for `err`, searching its cause chain for a CsiError or an apiserver answer. */
export function toStatus(err: unknown): { code: Status; details: string } {
  const details = err instanceof Error ? err.message : String(err);
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e instanceof CsiError) return { code: e.code, details };
    if (e instanceof ApiError) return { code: codeOfApiError(e), details };
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return { code: Status.UNAVAILABLE, details };
  }
  return { code: Status.INTERNAL, details };
}
