import { expect } from 'chai';
import { status } from '@grpc/grpc-js';
import { ApiError } from '../lib/kube/api-error.js';
import { aborted, toStatus } from './status.js';

const api = (code: number, reason = '') => new ApiError(code, 'GET', '/x', { code, reason, message: 'm' });

describe('csi/status', () => {
  const cases = [
    { name: 'a CsiError keeps its code', err: aborted('busy'), want: status.ABORTED },
    { name: 'a CsiError found in the cause chain', err: new Error('outer', { cause: aborted('busy') }), want: status.ABORTED },
    { name: 'apiserver 404', err: new Error('get', { cause: api(404) }), want: status.NOT_FOUND },
    { name: 'apiserver 403', err: api(403), want: status.PERMISSION_DENIED },
    { name: 'apiserver AlreadyExists', err: api(409, 'AlreadyExists'), want: status.ALREADY_EXISTS },
    { name: 'apiserver Conflict', err: api(409, 'Conflict'), want: status.ABORTED },
    { name: 'apiserver 422', err: api(422, 'Invalid'), want: status.INVALID_ARGUMENT },
    { name: 'apiserver 503', err: api(503), want: status.UNAVAILABLE },
    { name: 'a refused connection', err: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), want: status.UNAVAILABLE },
    { name: 'anything else', err: new Error('bug'), want: status.INTERNAL },
  ];
  for (const tc of cases) it(`maps ${tc.name}`, () => expect(toStatus(tc.err).code).to.equal(tc.want));
});
