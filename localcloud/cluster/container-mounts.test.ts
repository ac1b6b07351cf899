import { expect } from 'chai';
import { containerMounts } from './container-mounts.js';
import type { Volume } from './pod-api.js';

const volumes: Volume[] = [{ name: 'cert', secret: { secretName: 'c' } }, { name: 'data', emptyDir: {} }];
const paths = new Map([
  ['cert', '/run/pod/volumes/cert'],
  ['data', '/run/pod/volumes/data'],
]);

describe('container mounts', () => {
  it('mounts volumes read-only where the kubelet does, parents before children, with /etc/hosts', () => {
    const mounts = containerMounts(
      {
        name: 'app',
        volumeMounts: [
          { name: 'cert', mountPath: '/data/certs' },
          { name: 'data', mountPath: '/data' },
          { name: 'data', mountPath: '/logs', readOnly: true },
        ],
      },
      volumes,
      paths,
      new Map(),
      '/run/pod/etc-hosts',
    );
    expect(mounts.map((m) => [m.target, m.source, m.readOnly])).to.deep.equal([
      ['/data', '/run/pod/volumes/data', false],
      ['/logs', '/run/pod/volumes/data', true],
      ['/etc/hosts', '/run/pod/etc-hosts', true],
      ['/data/certs', '/run/pod/volumes/cert', true],
    ]);
  });

  it("mounts host paths writable only where the node's filesystem is its own (a simulated VM's)", () => {
    const container = { name: 'plugin', volumeMounts: [{ name: 'sock', mountPath: '/csi' }] };
    const hostPath: Volume[] = [{ name: 'sock', hostPath: { path: '/var/lib/kubelet/plugins/x' } }];
    const at = new Map([['sock', '/var/lib/kubelet/plugins/x']]);
    const readOnly = (writable: boolean) => containerMounts(container, hostPath, at, new Map(), '/h', undefined, writable).find((m) => m.target === '/csi')?.readOnly;
    expect([readOnly(false), readOnly(true)]).to.deep.equal([true, false]);
  });

  it('binds a raw block volume\'s published device at its devicePath, writable', () => {
    const mounts = containerMounts(
      { name: 'app', volumeDevices: [{ name: 'disk', devicePath: '/dev/xvda' }] },
      [{ name: 'disk', persistentVolumeClaim: { claimName: 'raw' } }],
      new Map([['disk', '/var/lib/kubelet/plugins/kubernetes.io/csi/volumeDevices/publish/pvc-1/uid-1']]),
      new Map(),
      '/run/pod/etc-hosts',
    );
    expect(mounts.find((m) => m.target === '/dev/xvda')).to.deep.equal({ source: '/var/lib/kubelet/plugins/kubernetes.io/csi/volumeDevices/publish/pvc-1/uid-1', target: '/dev/xvda', readOnly: false });
    expect(() => containerMounts({ name: 'app', volumeDevices: [{ name: 'none', devicePath: '/dev/x' }] }, [], new Map(), new Map(), '/h')).to.throw('volumeDevice "none" names no volume');
  });

  it('resolves subPath and subPathExpr inside the volume', () => {
    const mounts = containerMounts(
      { name: 'app', volumeMounts: [{ name: 'data', mountPath: '/a', subPath: 'x/y' }, { name: 'data', mountPath: '/b', subPathExpr: 'logs/$(POD_NAME)' }] },
      volumes,
      paths,
      new Map([['POD_NAME', 'web-1']]),
      '/h',
    );
    expect(mounts.filter((m) => m.target !== '/etc/hosts').map((m) => m.source)).to.deep.equal(['/run/pod/volumes/data/x/y', '/run/pod/volumes/data/logs/web-1']);
  });

  it('refuses a subPath that leaves the volume', () => {
    expect(() => containerMounts({ name: 'app', volumeMounts: [{ name: 'data', mountPath: '/a', subPath: '../../etc' }] }, volumes, paths, new Map(), '/h')).to.throw(
      /must stay inside the volume/,
    );
  });

  const propagation: { name: string; mountPropagation?: string; privileged?: boolean; want: string | RegExp }[] = [
    { name: 'keeps a mount private by default', want: 'private' },
    { name: 'keeps a mount private for None', mountPropagation: 'None', want: 'private' },
    { name: 'makes HostToContainer a slave of the host mount', mountPropagation: 'HostToContainer', want: 'rslave' },
    { name: 'makes Bidirectional a peer of the host mount in a privileged container', mountPropagation: 'Bidirectional', privileged: true, want: 'rshared' },
    { name: 'refuses Bidirectional to an unprivileged container', mountPropagation: 'Bidirectional', want: /available only to privileged containers/ },
    { name: 'refuses an unknown propagation mode', mountPropagation: 'Sideways', privileged: true, want: /invalid mountPropagation "Sideways"/ },
  ];
  for (const tc of propagation) {
    it(tc.name, () => {
      const container = {
        name: 'plugin',
        ...(tc.privileged ? { securityContext: { privileged: true } } : {}),
        volumeMounts: [{ name: 'kubelet', mountPath: '/var/lib/kubelet', ...(tc.mountPropagation ? { mountPropagation: tc.mountPropagation } : {}) }],
      };
      const mounts = () => containerMounts(container, [{ name: 'kubelet', hostPath: { path: '/var/lib/kubelet' } }], new Map([['kubelet', '/var/lib/kubelet']]), new Map(), '/h');
      if (tc.want instanceof RegExp) {
        expect(mounts).to.throw(tc.want);
        return;
      }
      const mount = mounts().find((m) => m.target === '/var/lib/kubelet');
      expect(mount?.propagation ?? 'private').to.equal(tc.want);
    });
  }

  it('refuses a mountPath inside a Bidirectional one, whose mount would reach the host', () => {
    const volumeMounts = [
      { name: 'kubelet', mountPath: '/var/lib/kubelet', mountPropagation: 'Bidirectional' },
      { name: 'data', mountPath: '/var/lib/kubelet/plugins/x' },
    ];
    const volumes: Volume[] = [{ name: 'kubelet', hostPath: { path: '/var/lib/kubelet' } }, { name: 'data', emptyDir: {} }];
    const paths2 = new Map([['kubelet', '/var/lib/kubelet'], ['data', '/run/pod/volumes/data']]);
    expect(() => containerMounts({ name: 'plugin', securityContext: { privileged: true }, volumeMounts }, volumes, paths2, new Map(), '/h')).to.throw(
      'mountPath /var/lib/kubelet/plugins/x is inside /var/lib/kubelet, whose mountPropagation is Bidirectional',
    );
    // Beside it (a sibling with a common prefix) is fine, and so is anything inside a HostToContainer one.
    volumeMounts[1] = { name: 'data', mountPath: '/var/lib/kubelet-data' };
    expect(() => containerMounts({ name: 'plugin', securityContext: { privileged: true }, volumeMounts }, volumes, paths2, new Map(), '/h')).to.not.throw();
    volumeMounts[0] = { name: 'kubelet', mountPath: '/var/lib/kubelet', mountPropagation: 'HostToContainer' };
    volumeMounts[1] = { name: 'data', mountPath: '/var/lib/kubelet/plugins/x' };
    expect(() => containerMounts({ name: 'plugin', volumeMounts }, volumes, paths2, new Map(), '/h')).to.not.throw();
  });
});
