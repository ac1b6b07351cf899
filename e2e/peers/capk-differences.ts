// The differences between what CAPK and kvcloud's infrastructure provider make from the same quick start (as
// e2e/peers/capk.peer.ts prints them), each with why kvcloud differs. A difference not listed fails the suite, and so
// does a listed one that is gone.
const APPLIED_HASH =
  'kvcloud judges "changed" by a hash of what it last applied (its own kvcloud.io annotation), so steady state writes nothing; CAPK compares and updates fields itself';
const USERDATA_LABELS =
  'kvcloud finds and deletes a KubevirtMachine\'s userdata Secret by these labels (the keys CAPK puts on its VMs), which also works where an owner reference cannot reach (an external infra cluster); CAPK deletes it by name';
const PORT_NAME =
  'kvcloud names the API server port of the <cluster>-lb Service; CAPK leaves it unnamed. Port, target port and protocol are the same; nothing of Cluster API or CAPK refers to the port by name';
const V1BETA1_MIRROR =
  'kvcloud keeps the v1beta1 conditions under status.deprecated.v1beta1 for consumers of the deprecated contract, as the v1beta2 contract allows during the transition; CAPK has dropped them';
const FAILURE_DOMAINS =
  'kvcloud reports the infra Nodes\' zones as failure domains (Cluster API then spreads control-plane Machines over them, and the Machine\'s KubevirtMachine names its zone); CAPK has no failure domains';
const PAUSED = 'the v1beta2 contract asks providers for a Paused condition; CAPK does not report one';

export const JUSTIFIED_DIFFERENCES = new Map<string, string>([
  ['KubevirtCluster acme: status fields: CAPK "conditions,initialization,ready", kvcloud "conditions,deprecated,failureDomains,initialization,ready"', `${V1BETA1_MIRROR}; ${FAILURE_DOMAINS}`],
  ['KubevirtCluster acme: status.conditions Paused: CAPK (none), kvcloud "False (NotPaused)"', PAUSED],
  [
    'KubevirtMachine <control-plane-machine>: status fields: CAPK "addresses,conditions,initialization,nodeupdated,ready", kvcloud "addresses,conditions,deprecated,failureDomain,initialization,nodeupdated,ready"',
    `${V1BETA1_MIRROR}; ${FAILURE_DOMAINS}`,
  ],
  ['KubevirtMachine <control-plane-machine>: status.conditions Paused: CAPK (none), kvcloud "False (NotPaused)"', PAUSED],
  ['KubevirtMachine <md-0-machine>: status fields: CAPK "addresses,conditions,initialization,nodeupdated,ready", kvcloud "addresses,conditions,deprecated,initialization,nodeupdated,ready"', V1BETA1_MIRROR],
  ['KubevirtMachine <md-0-machine>: status.conditions Paused: CAPK (none), kvcloud "False (NotPaused)"', PAUSED],
  ['Secret <control-plane-machine>-userdata: annotation kvcloud.io/applied-hash: CAPK (none), kvcloud "<opaque>"', APPLIED_HASH],
  ['Secret <control-plane-machine>-userdata: label capk.cluster.x-k8s.io/kubevirt-machine-name: CAPK (none), kvcloud "<control-plane-machine>"', USERDATA_LABELS],
  ['Secret <control-plane-machine>-userdata: label capk.cluster.x-k8s.io/kubevirt-machine-namespace: CAPK (none), kvcloud "peers"', USERDATA_LABELS],
  ['Secret <md-0-machine>-userdata: annotation kvcloud.io/applied-hash: CAPK (none), kvcloud "<opaque>"', APPLIED_HASH],
  ['Secret <md-0-machine>-userdata: label capk.cluster.x-k8s.io/kubevirt-machine-name: CAPK (none), kvcloud "<md-0-machine>"', USERDATA_LABELS],
  ['Secret <md-0-machine>-userdata: label capk.cluster.x-k8s.io/kubevirt-machine-namespace: CAPK (none), kvcloud "peers"', USERDATA_LABELS],
  ['Service acme-lb: annotation kvcloud.io/applied-hash: CAPK (none), kvcloud "<opaque>"', APPLIED_HASH],
  ['Service acme-lb: spec.ports : CAPK "6443->6443/TCP", kvcloud (none)', PORT_NAME],
  ['Service acme-lb: spec.ports api-server: CAPK (none), kvcloud "6443->6443/TCP"', PORT_NAME],
]);
