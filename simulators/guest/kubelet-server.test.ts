import { expect } from 'chai';
import { kubeletRoute, logOptions, requestVerb, tail } from './kubelet-server.js';

describe('guest kubelet API', () => {
  describe('kubeletRoute', () => {
    const cases = [
      { path: '/healthz', want: { kind: 'healthz' } },
      { path: '/pods', want: { kind: 'pods' } },
      { path: '/pods/', want: { kind: 'pods' } },
      { path: '/containerLogs/default/echo-1/echo', want: { kind: 'logs', namespace: 'default', pod: 'echo-1', container: 'echo' } },
      { path: '/containerLogs/kube%2Dsystem/p/c', want: { kind: 'logs', namespace: 'kube-system', pod: 'p', container: 'c' } },
      { path: '/containerLogs/default/echo-1', want: { kind: 'not-found' } },
      { path: '/exec/default/p/c', want: { kind: 'streaming', what: 'exec', namespace: 'default', pod: 'p', container: 'c' } },
      { path: '/exec/default/p/uid-1/c', want: { kind: 'streaming', what: 'exec', namespace: 'default', pod: 'p', uid: 'uid-1', container: 'c' } },
      { path: '/exec/default/p', want: { kind: 'not-found' } },
      { path: '/attach/default/p/c', want: { kind: 'streaming', what: 'attach', namespace: 'default', pod: 'p', container: 'c' } },
      { path: '/portForward/default/p', want: { kind: 'streaming', what: 'portForward', namespace: 'default', pod: 'p' } },
      { path: '/portForward/default/p/uid-1', want: { kind: 'streaming', what: 'portForward', namespace: 'default', pod: 'p', uid: 'uid-1' } },
      { path: '/run/default/p/c', want: { kind: 'streaming', what: 'run', namespace: 'default', pod: 'p', container: 'c' } },
      { path: '/cri/exec/AbCd_-12', want: { kind: 'cri', path: '/exec/AbCd_-12' } },
      { path: '/metrics', want: { kind: 'not-found' } },
    ];
    for (const tc of cases) {
      it(`maps ${tc.path} to ${tc.want.kind}`, () => {
        expect(kubeletRoute(tc.path)).to.deep.equal(tc.want);
      });
    }
  });

  it('maps HTTP methods to the verbs the kubelet authorizer asks about', () => {
    expect(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'].map(requestVerb)).to.deep.equal(['get', 'get', 'create', 'update', 'patch', 'delete']);
  });

  it("reads kubectl logs' query parameters and ignores malformed numbers", () => {
    expect(logOptions(new URLSearchParams('follow=true&previous=true&tailLines=5&limitBytes=100'))).to.deep.equal({ follow: true, previous: true, tailLines: 5, limitBytes: 100 });
    expect(logOptions(new URLSearchParams('tailLines=-1&limitBytes=x'))).to.deep.equal({ follow: false, previous: false, tailLines: undefined, limitBytes: undefined });
  });

  describe('tail', () => {
    const cases = [
      { name: 'everything without tailLines', text: 'a\nb\nc\n', lines: undefined, want: 'a\nb\nc\n' },
      { name: 'the last lines, keeping the final newline', text: 'a\nb\nc\n', lines: 2, want: 'b\nc\n' },
      { name: 'a last line without newline', text: 'a\nb\nc', lines: 1, want: 'c' },
      { name: 'nothing for 0', text: 'a\n', lines: 0, want: '' },
      { name: 'all when asking for more than there are', text: 'a\nb\n', lines: 10, want: 'a\nb\n' },
    ];
    for (const tc of cases) {
      it(tc.name, () => {
        expect(tail(tc.text, tc.lines)).to.equal(tc.want);
      });
    }
  });
});
