import { expect } from 'chai';
import { ApiError, inCauseChain, isConflict } from './api-error.js';

const conflict = new ApiError(409, 'PATCH', '/api/v1/namespaces/a/pods/b', { reason: 'Conflict', message: 'the object has been modified' });

describe('lib/kube api errors', () => {
  it('finds a conflict wrapped with context by the caller', () => {
    const wrapped = new Error('patch a/b: failed', { cause: new Error('status', { cause: conflict }) });
    expect(inCauseChain(wrapped, isConflict)).to.equal(true);
  });
  it('does not call AlreadyExists a conflict', () => {
    const exists = new ApiError(409, 'POST', '/api/v1/namespaces/a/pods', { reason: 'AlreadyExists' });
    expect(inCauseChain(new Error('create', { cause: exists }), isConflict)).to.equal(false);
  });
  it('stops at a cause that is not an Error', () => {
    expect(inCauseChain(new Error('x', { cause: 'text' }), isConflict)).to.equal(false);
  });
});
