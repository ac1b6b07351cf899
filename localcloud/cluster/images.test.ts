import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { parse } from 'yaml';
import { containerArgv, ExecutableNotFoundError, ImageNotMappedError, parseImageReference, resolveImage, TEST_ECHO_IMAGE, TEST_SHELL_IMAGE, type LocalImage } from './images.js';
import { upstreamVersion } from '../versions.js';
import { cacheDir } from '../binaries.js';
import { DEFAULT_COREDNS_TAG } from '../../providers/controlplane/tenant/coredns.js';
import { DEFAULT_CLUSTER_AUTOSCALER_IMAGE } from '../../providers/autoscaler/cluster-autoscaler-objects.js';

async function refusal(reference: string): Promise<Error> {
  try {
    await resolveImage(reference);
  } catch (err) {
    return err as Error;
  }
  throw new Error(`${reference} resolved`);
}

describe('image to local program mapping', () => {
  it('splits repository and tag, registry ports and digests included', () => {
    expect(parseImageReference('registry.k8s.io/etcd:3.6.4-0')).to.deep.equal({ repository: 'registry.k8s.io/etcd', tag: '3.6.4-0' });
    expect(parseImageReference('localhost:5000/app')).to.deep.equal({ repository: 'localhost:5000/app', tag: undefined });
    expect(parseImageReference('quay.io/x/y:v1@sha256:abc')).to.deep.equal({ repository: 'quay.io/x/y', tag: 'v1' });
  });

  it('runs the test image entrypoint with the container args', async () => {
    const image = await resolveImage(TEST_ECHO_IMAGE);
    const argv = containerArgv(image, undefined, ['--port=8080']);
    expect(argv[0]).to.equal(process.execPath);
    expect(argv[1]).to.match(/\/out\/js\/[0-9a-f]{16}\/localcloud\/cluster\/testdata\/echo\.js$/);
    expect(argv[2]).to.equal('--port=8080');
  });

  it('maps a command to the image program by its basename', () => {
    const programs: Record<string, string[]> = { etcd: ['/cache/etcd'], etcdctl: ['/cache/etcdctl'] };
    const image: LocalImage = {
      reference: 'registry.k8s.io/etcd:3.7.3-0',
      entrypoint: ['/cache/etcd'],
      findProgram: (name) => programs[name.split('/').pop() ?? ''],
      programNames: Object.keys(programs),
      env: {},
    };
    expect(containerArgv(image, ['/usr/local/bin/etcdctl', 'version'], ['--x'])).to.deep.equal(['/cache/etcdctl', 'version', '--x']);
    expect(() => containerArgv(image, ['sh', '-c', 'true'], undefined)).to.throw(ExecutableNotFoundError, /exec: "sh": executable file not found in image .* \(it has etcd, etcdctl\)/);
  });

  it('runs kube-proxy as the service proxy entrypoint at every Kubernetes tag, whichever path the command names', async () => {
    for (const tag of [upstreamVersion('KUBERNETES_VERSION'), 'v1.35.4', 'v1.36.0']) {
      const image = await resolveImage(`registry.k8s.io/kube-proxy:${tag}`);
      const argv = containerArgv(image, ['/usr/local/bin/kube-proxy', '--config=/var/lib/kube-proxy/config.conf'], undefined);
      expect(argv[0]).to.equal(process.execPath);
      expect(argv[1]).to.match(/\/out\/js\/[0-9a-f]{16}\/localcloud\/cluster\/service-proxy\/kube-proxy\.js$/);
      expect(argv.slice(2)).to.deep.equal(['--config=/var/lib/kube-proxy/config.conf']);
    }
  });

  it("maps the tenant CoreDNS addon's default image to the pinned CoreDNS build", async () => {
    expect(DEFAULT_COREDNS_TAG, 'providers/controlplane/tenant/coredns.ts and versions.env COREDNS_VERSION').to.equal(upstreamVersion('COREDNS_VERSION'));
    const err = await resolveImage(`registry.k8s.io/coredns/coredns:${DEFAULT_COREDNS_TAG}`).then(
      (image) => image,
      (e: unknown) => e as Error,
    );
    // Resolved when `make tools` built it; otherwise refused with the way to build it, never unmapped.
    if (err instanceof Error) expect(err.message).to.include('e2e/tools/build.sh coredns');
    else expect(err.entrypoint[0]).to.match(new RegExp(`/bin/coredns-${DEFAULT_COREDNS_TAG}/coredns$`));
  });

  it("runs the CCM image's entrypoint with args only, and as /bin/kubevirt-cloud-controller-manager for upstream's manifests", async () => {
    const image = await resolveImage('ghcr.io/kvcloud/ccm:dev');
    const byArgs = containerArgv(image, undefined, ['--cloud-provider=kubevirt']);
    // Compiled JavaScript, run by plain node, as it ships.
    expect(byArgs[0]).to.equal(process.execPath);
    expect(byArgs[1]).to.match(/\/out\/js\/[0-9a-f]{16}\/ccm\/main\.js$/);
    expect(byArgs[2]).to.equal('--cloud-provider=kubevirt');
    expect(containerArgv(image, ['/bin/kubevirt-cloud-controller-manager'], ['--cloud-provider=kubevirt'])).to.deep.equal(byArgs);
    expect(() => containerArgv(image, ['sh'], undefined)).to.throw(ExecutableNotFoundError, /it has kubevirt-cloud-controller-manager/);
  });

  it('runs every image of config/csi/controller: the driver compiled from csi/main.ts, the sidecars as the binaries `make tools` builds at the pinned versions', async () => {
    const deployment = parse(readFileSync(new URL('../../config/csi/controller/deployment.yaml', import.meta.url), 'utf8')) as { spec: { template: { spec: { containers: { name: string; image: string }[] } } } };
    const containers = deployment.spec.template.spec.containers;
    expect(containers.map((c) => c.name)).to.deep.equal(['csi-driver', 'csi-provisioner', 'csi-attacher', 'csi-resizer', 'csi-snapshotter']);
    for (const c of containers) {
      const image = await resolveImage(c.image).then(
        (i) => i,
        (e: unknown) => e as Error,
      );
      if (c.name === 'csi-driver') {
        expect(image instanceof Error ? image.message : image.entrypoint[1]).to.match(/\/out\/js\/[0-9a-f]{16}\/csi\/main\.js$/);
        // csi.proto comes with the image: the cache it was fetched into, not the pod's own HOME.
        expect(image instanceof Error ? {} : image.env).to.deep.equal({ PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', KVCLOUD_CACHE: cacheDir() });
      }
      // Resolved when `make tools` built it; otherwise refused with the way to build it, never unmapped.
      else if (image instanceof Error) expect(image.message, c.image).to.include(`e2e/tools/build.sh ${c.name}`);
      else expect(image.entrypoint[0], c.image).to.match(new RegExp(`/bin/${c.name}-v[0-9.]+/${c.name}$`));
    }
  });

  it("runs every image of config/csi/tenant's node DaemonSet: the driver, and the registrar as its stand-in at upstream's tag", async () => {
    const daemonSet = parse(readFileSync(new URL('../../config/csi/tenant/node-daemonset.yaml', import.meta.url), 'utf8')) as { spec: { template: { spec: { containers: { name: string; image: string }[] } } } };
    const containers = daemonSet.spec.template.spec.containers;
    expect(containers.map((c) => c.name)).to.deep.equal(['csi-driver', 'csi-node-driver-registrar']);
    const [driver, registrar] = await Promise.all(containers.map((c) => resolveImage(c.image)));
    expect(driver?.entrypoint[1]).to.match(/\/out\/js\/[0-9a-f]{16}\/csi\/main\.js$/);
    expect(registrar?.entrypoint[1]).to.match(/\/out\/js\/[0-9a-f]{16}\/simulators\/csi-registrar\/main\.js$/);
    expect(registrar?.env).to.include({ KVCLOUD_CACHE: cacheDir() });
  });

  it('runs the cluster-autoscaler image from the binary $CLUSTER_AUTOSCALER names, and says so when it names none or is unset', async () => {
    const saved = process.env.CLUSTER_AUTOSCALER;
    try {
      process.env.CLUSTER_AUTOSCALER = '/bin/true';
      const image = await resolveImage(DEFAULT_CLUSTER_AUTOSCALER_IMAGE);
      expect(containerArgv(image, ['/cluster-autoscaler'], ['--v=2'])).to.deep.equal(['/bin/true', '--v=2']);
      process.env.CLUSTER_AUTOSCALER = '/nonexistent/cluster-autoscaler';
      expect(await refusal(DEFAULT_CLUSTER_AUTOSCALER_IMAGE)).to.be.instanceOf(ImageNotMappedError).with.property('message').that.includes('$CLUSTER_AUTOSCALER, which is not an executable');
      delete process.env.CLUSTER_AUTOSCALER;
      expect(await refusal(DEFAULT_CLUSTER_AUTOSCALER_IMAGE)).to.be.instanceOf(ImageNotMappedError).with.property('message').that.includes('$CLUSTER_AUTOSCALER, which this run does not set');
    } finally {
      if (saved === undefined) delete process.env.CLUSTER_AUTOSCALER;
      else process.env.CLUSTER_AUTOSCALER = saved;
    }
  });

  it("finds the shell image's commands on the machine", async () => {
    const image = await resolveImage(TEST_SHELL_IMAGE);
    const [program, ...rest] = containerArgv(image, ['sh', '-c', 'exit 3'], ['ignored-by-sh']);
    expect(program).to.match(/^\/.*\/sh$/);
    expect(rest).to.deep.equal(['-c', 'exit 3', 'ignored-by-sh']);
  });

  it('refuses an image it has no program for, naming the known ones', async () => {
    const err = await refusal('docker.io/library/nginx:1.27');
    expect(err).to.be.instanceOf(ImageNotMappedError);
    expect(err.message).to.match(/image "docker.io\/library\/nginx:1.27" has no local program; the pod runner knows .*registry.k8s.io\/kube-apiserver/);
  });

  it('refuses a tag other than the pinned versions, naming them', async () => {
    const err = await refusal('registry.k8s.io/kube-apiserver:v1.20.0');
    expect(err).to.be.instanceOf(ImageNotMappedError);
    expect(err.message).to.include(`registry.k8s.io/kube-apiserver is available locally only as ${upstreamVersion('KUBERNETES_VERSION')}, `);
    for (const older of ['v1.35.4', 'v1.36.0']) expect(err.message).to.include(older);
  });
});
