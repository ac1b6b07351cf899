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
});
