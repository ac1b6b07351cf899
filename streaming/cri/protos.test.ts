import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { criServices, PROTO_DIR } from './protos.js';

const UPSTREAM_MARKER = '// ---- upstream ----\n';

function pin(): { sha256: string; path: string; origin: string } {
  const line = readFileSync(`${PROTO_DIR}pinned.sha256`, 'utf8')
    .split('\n')
    .find((l) => l.trim() !== '' && !l.startsWith('#'));
  const [sha256 = '', path = '', ...origin] = (line ?? '').split(/\s{2,}/);
  return { sha256, path, origin: origin.join(' ') };
}

const pinned = () => readFileSync(`${PROTO_DIR}api.proto`, 'utf8');
const upstreamBytes = () => Buffer.from(pinned().split(UPSTREAM_MARKER)[1] ?? '', 'utf8');
const gitBlobId = (bytes: Buffer): string => createHash('sha1').update(`blob ${String(bytes.length)}\0`).update(bytes).digest('hex');

describe('streaming/cri/protos', () => {
  it('keeps api.proto byte-identical to the file of k8s.io/cri-api it names', () => {
    const { sha256, path, origin } = pin();
    expect(path).to.equal('api.proto');
    expect(pinned()).to.include(UPSTREAM_MARKER);
    expect(createHash('sha256').update(upstreamBytes()).digest('hex'), origin).to.equal(sha256);
  });

  it('names in the header the git blob the upstream part hashes to', () => {
    const header = (pinned().split(UPSTREAM_MARKER)[0] ?? '').replace(/\n\/\/ /g, ' ');
    const blob = /git blob\s+([0-9a-f]{40})/.exec(header)?.[1];
    expect(blob, 'the header names a git blob').to.be.a('string');
    expect(gitBlobId(upstreamBytes())).to.equal(blob);
  });

  it('pins the CRI of the Kubernetes release the project runs', () => {
    const env = readFileSync(new URL('../../e2e/tools/versions.env', import.meta.url), 'utf8');
    const minorPatch = /^KUBERNETES_VERSION=v1\.(\d+\.\d+)$/m.exec(env)?.[1] ?? '?';
    expect(pin().origin).to.match(new RegExp(`^k8s\\.io/cri-api@v0\\.${minorPatch.replace('.', '\\.')} `));
    expect(pinned().split(UPSTREAM_MARKER)[0]).to.include(`k8s.io/cri-api@v0.${minorPatch}`);
  });

  it('loads the RuntimeService and ImageService with the RPCs the kubelet and crictl call', () => {
    const { RuntimeService, ImageService } = criServices();
    expect(Object.keys(RuntimeService)).to.include.members(['Version', 'Status', 'ListPodSandbox', 'PodSandboxStatus', 'ListContainers', 'ContainerStatus', 'ExecSync', 'Exec', 'Attach', 'PortForward']);
    expect(Object.keys(ImageService)).to.include.members(['ListImages', 'ImageStatus', 'PullImage']);
    expect(RuntimeService.Exec?.path).to.equal('/runtime.v1.RuntimeService/Exec');
  });
});
