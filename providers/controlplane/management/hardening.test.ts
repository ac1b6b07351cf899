import { expect } from 'chai';
import type { V1Node } from '@kubernetes/client-node';
import { buildDeployment } from './deployment.js';
import { CONTROL_PLANE_UID, containerSecurityContext, hardenedMount, hardeningOf, podSecurityContext, userNamespacesSupported } from './hardening.js';
import type { TenantControlPlane } from '../api/index.js';
import { DEPLOYMENT_INPUTS } from './deployment-inputs.testdata.js';

const ALL_ON = hardeningOf(undefined, true);
const STRICT = {
  runAsNonRoot: true,
  runAsUser: CONTROL_PLANE_UID,
  runAsGroup: CONTROL_PLANE_UID,
  readOnlyRootFilesystem: true,
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

describe('management/hardening', () => {
  const hardeningCases = [
    { name: 'turns every measure on by default where user namespaces are supported', spec: undefined, userns: true, want: { ...ALL_ON } },
    { name: 'leaves user namespaces off when support is unknown', spec: undefined, userns: undefined, want: { ...ALL_ON, userNamespaces: false } },
    { name: 'leaves user namespaces off when the cluster lacks them, whatever the spec says', spec: { userNamespaces: true }, userns: false, want: { ...ALL_ON, userNamespaces: false } },
    {
      name: 'turns off exactly the measures set to false',
      spec: { readOnlyRootFilesystem: false, seccompRuntimeDefault: false },
      userns: true,
      want: { ...ALL_ON, readOnlyRootFilesystem: false, seccompRuntimeDefault: false },
    },
  ];
  for (const tc of hardeningCases) it(tc.name, () => expect(hardeningOf(tc.spec, tc.userns)).to.deep.equal(tc.want));

  const node = (handlers: { name?: string; features?: { userNamespaces?: boolean } }[] | undefined): Pick<V1Node, 'status'> => ({ status: { runtimeHandlers: handlers } });
  const supportCases = [
    { name: 'no nodes', nodes: [], want: false },
    { name: 'every default handler reports user namespaces', nodes: [node([{ name: '', features: { userNamespaces: true } }]), node([{ features: { userNamespaces: true } }])], want: true },
    { name: 'one node does not report runtime handlers (older kubelet)', nodes: [node([{ name: '', features: { userNamespaces: true } }]), node(undefined)], want: false },
    { name: 'only a non-default handler supports them', nodes: [node([{ name: 'kata', features: { userNamespaces: true } }, { name: '', features: { userNamespaces: false } }])], want: false },
  ];
  for (const tc of supportCases) it(`user namespace support: ${tc.name}`, () => expect(userNamespacesSupported(tc.nodes)).to.equal(tc.want));

  const containerCases = [
    { name: 'the strict context by default', h: ALL_ON, user: undefined, want: STRICT },
    { name: 'nothing when every measure is off', h: hardeningOf({ runAsNonRoot: false, readOnlyRootFilesystem: false, dropAllCapabilities: false, seccompRuntimeDefault: false }, false), user: undefined, want: undefined },
    {
      name: "the user's fields over ours",
      h: ALL_ON,
      user: { capabilities: { add: ['NET_ADMIN'] }, readOnlyRootFilesystem: false },
      want: { ...STRICT, capabilities: { add: ['NET_ADMIN'] }, readOnlyRootFilesystem: false },
    },
    { name: 'no runAsNonRoot for a user who asks for root', h: ALL_ON, user: { runAsUser: 0 }, want: { ...STRICT, runAsUser: 0, runAsNonRoot: undefined } },
  ];
  for (const tc of containerCases) {
    it(`container: ${tc.name}`, () => {
      const got = containerSecurityContext(tc.h, tc.user);
      expect(got === undefined ? undefined : JSON.parse(JSON.stringify(got))).to.deep.equal(tc.want === undefined ? undefined : JSON.parse(JSON.stringify(tc.want)));
    });
  }

  it('pod: fsGroup for the non-root uid, and the unprivileged-port sysctl only for a port below 1024', () => {
    expect(podSecurityContext(ALL_ON, [6443, 10257], undefined)).to.deep.equal({ fsGroup: CONTROL_PLANE_UID });
    expect(podSecurityContext(ALL_ON, [443, 10257], undefined)).to.deep.equal({
      fsGroup: CONTROL_PLANE_UID,
      sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '443' }],
    });
    expect(podSecurityContext({ ...ALL_ON, runAsNonRoot: false }, [443], undefined)).to.equal(undefined);
    expect(podSecurityContext(ALL_ON, [6443], { fsGroup: 1000 })).to.deep.equal({ fsGroup: 1000 });
  });

  it('mounts: recursiveReadOnly IfPossible on read-only mounts only', () => {
    expect(hardenedMount(ALL_ON, { name: 'pki', mountPath: '/p', readOnly: true })).to.deep.equal({ name: 'pki', mountPath: '/p', readOnly: true, recursiveReadOnly: 'IfPossible' });
    expect(hardenedMount(ALL_ON, { name: 'uds', mountPath: '/u' })).to.deep.equal({ name: 'uds', mountPath: '/u' });
    expect(hardenedMount({ ...ALL_ON, recursiveReadOnlyMounts: false }, { name: 'pki', mountPath: '/p', readOnly: true })).to.deep.equal({ name: 'pki', mountPath: '/p', readOnly: true });
  });
});

describe('management/deployment hardening', () => {
  const inputs = DEPLOYMENT_INPUTS;
  const tcp = (deployment: NonNullable<TenantControlPlane['spec']['controlPlane']['deployment']> = {}): TenantControlPlane => ({
    apiVersion: 'kamaji.clastix.io/v1alpha1',
    kind: 'TenantControlPlane',
    metadata: { name: 'acme', namespace: 'tenants' },
    spec: {
      controlPlane: { service: { serviceType: 'LoadBalancer' }, deployment: { ...deployment, additionalContainers: [{ name: 'sidecar', image: 'busybox' }] } },
      kubernetes: { version: 'v1.37.2', kubelet: {} },
      addons: { konnectivity: { server: { port: 8132 } } },
    },
  });

  it("hardens the operator's containers and pod, not the user's sidecar", () => {
    const pod = buildDeployment(tcp(), { ...inputs, userNamespaces: true }).spec?.template.spec;
    const byName = new Map(pod?.containers.map((c) => [c.name, c]));
    for (const name of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'konnectivity-server']) {
      expect(JSON.parse(JSON.stringify(byName.get(name)?.securityContext)), name).to.deep.equal(STRICT);
      for (const m of byName.get(name)?.volumeMounts ?? []) if (m.readOnly) expect(m.recursiveReadOnly, `${name} ${m.name}`).to.equal('IfPossible');
    }
    expect(byName.get('sidecar')?.securityContext).to.equal(undefined);
    expect(pod?.hostUsers).to.equal(false);
    expect(pod?.securityContext).to.deep.equal({ fsGroup: CONTROL_PLANE_UID });
  });

  it('sets no hostUsers when the cluster support is unknown or the tenant opts out', () => {
    expect(buildDeployment(tcp(), inputs).spec?.template.spec?.hostUsers).to.equal(undefined);
    expect(buildDeployment(tcp({ hardening: { userNamespaces: false } }), { ...inputs, userNamespaces: true }).spec?.template.spec?.hostUsers).to.equal(undefined);
  });

  it('keeps an explicit containerSecurityContexts entry over the defaults', () => {
    const d = buildDeployment(tcp({ containerSecurityContexts: { apiServer: { readOnlyRootFilesystem: false } } }), inputs);
    expect(d.spec?.template.spec?.containers[0]?.securityContext?.readOnlyRootFilesystem).to.equal(false);
    expect(d.spec?.template.spec?.containers[0]?.securityContext?.runAsNonRoot).to.equal(true);
  });
});
