import { expect } from 'chai';
import type { Deployment } from '../management/deployment.js';
import { addonVersion, decideVersionStatus, rolledOut, type VersionInputs, type VersionStatus } from './version-status.js';

function deployment(generation: number, status: Deployment['status'], replicas = 1): Deployment {
  return { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 't', generation }, spec: { replicas, selector: {}, template: {} }, status };
}
const done = deployment(2, { observedGeneration: 2, replicas: 1, updatedReplicas: 1, readyReplicas: 1 });
const notObserved = deployment(3, { observedGeneration: 2, replicas: 1, updatedReplicas: 1, readyReplicas: 1 });
const surging = deployment(3, { observedGeneration: 3, replicas: 2, updatedReplicas: 1, readyReplicas: 1 });
const ready = (version: string) => ({ version, status: 'Ready' as const });

describe('controllers/version-status', () => {
  const cases: { name: string; in: VersionInputs; want: VersionStatus }[] = [
    { name: 'provisioning until the first apiserver answers', in: { current: undefined, desired: 'v1.37.2', deployment: undefined, answering: false }, want: { status: 'Provisioning' } },
    { name: 'ready once it answers the first time', in: { current: { status: 'Provisioning' }, desired: 'v1.37.2', deployment: done, answering: true }, want: ready('v1.37.2') },
    { name: 'steady: ready stays ready', in: { current: ready('v1.37.2'), desired: 'v1.37.2', deployment: done, answering: true }, want: ready('v1.37.2') },
    { name: 'upgrading while the controller has not seen the new template', in: { current: ready('v1.36.3'), desired: 'v1.37.2', deployment: notObserved, answering: true }, want: { version: 'v1.36.3', status: 'Upgrading' } },
    { name: 'upgrading while old pods still answer beside the new ones', in: { current: ready('v1.36.3'), desired: 'v1.37.2', deployment: surging, answering: true }, want: { version: 'v1.36.3', status: 'Upgrading' } },
    { name: 'upgrading while no apiserver answers mid-roll', in: { current: { version: 'v1.36.3', status: 'Upgrading' }, desired: 'v1.37.2', deployment: surging, answering: false }, want: { version: 'v1.36.3', status: 'Upgrading' } },
    { name: 'ready with the new version once rolled out', in: { current: { version: 'v1.36.3', status: 'Upgrading' }, desired: 'v1.37.2', deployment: done, answering: true }, want: ready('v1.37.2') },
    { name: 'not ready when an installed control plane stops answering', in: { current: ready('v1.37.2'), desired: 'v1.37.2', deployment: done, answering: false }, want: { version: 'v1.37.2', status: 'NotReady' } },
    { name: 'a rollout for another reason (certificate rotation) keeps it ready', in: { current: ready('v1.37.2'), desired: 'v1.37.2', deployment: surging, answering: true }, want: ready('v1.37.2') },
    { name: 'write-limited instead of ready while spec.writePermissions blocks writes', in: { current: ready('v1.37.2'), desired: 'v1.37.2', deployment: done, answering: true, writeLimited: true }, want: { version: 'v1.37.2', status: 'WriteLimited' } },
    { name: 'not ready, not write-limited, when a write-limited control plane stops answering', in: { current: { version: 'v1.37.2', status: 'WriteLimited' }, desired: 'v1.37.2', deployment: done, answering: false, writeLimited: true }, want: { version: 'v1.37.2', status: 'NotReady' } },
    { name: 'migrating while a DataStore migration blocks the users\' writes', in: { current: ready('v1.37.2'), desired: 'v1.37.2', deployment: done, answering: true, migrationBlocksWrites: true }, want: { version: 'v1.37.2', status: 'Migrating' } },
    { name: 'migrating wins over write-limited while the migration blocks writes', in: { current: ready('v1.37.2'), desired: 'v1.37.2', deployment: done, answering: true, writeLimited: true, migrationBlocksWrites: true }, want: { version: 'v1.37.2', status: 'Migrating' } },
    { name: 'ready again as soon as the migration stops blocking writes (cleaning the source), never Migrating with writes allowed', in: { current: { version: 'v1.37.2', status: 'Migrating' }, desired: 'v1.37.2', deployment: done, answering: true, migrationBlocksWrites: false }, want: ready('v1.37.2') },
    { name: 'not ready, not migrating, when a migrating control plane stops answering', in: { current: { version: 'v1.37.2', status: 'Migrating' }, desired: 'v1.37.2', deployment: done, answering: false, migrationBlocksWrites: true }, want: { version: 'v1.37.2', status: 'NotReady' } },
  ];
  for (const tc of cases) it(tc.name, () => expect(decideVersionStatus(tc.in)).to.deep.equal(tc.want));

  // One upgrade as the reconciler sees it pass after pass: the addons move only when every pod runs the new version.
  const upgrade: { name: string; in: VersionInputs; want: string }[] = [
    { name: 'the spec\'s version on the first install, before any is reported', in: { current: { status: 'Provisioning' }, desired: 'v1.36.0', deployment: done, answering: true }, want: 'v1.36.0' },
    { name: 'the old version while the Deployment controller has not seen the new template', in: { current: ready('v1.36.0'), desired: 'v1.37.2', deployment: notObserved, answering: true }, want: 'v1.36.0' },
    { name: 'the old version while old and new apiservers both serve', in: { current: { version: 'v1.36.0', status: 'Upgrading' }, desired: 'v1.37.2', deployment: surging, answering: true }, want: 'v1.36.0' },
    { name: 'the old version while no apiserver answers mid-roll', in: { current: { version: 'v1.36.0', status: 'Upgrading' }, desired: 'v1.37.2', deployment: surging, answering: false }, want: 'v1.36.0' },
    { name: 'the new version once rolled out and answering', in: { current: { version: 'v1.36.0', status: 'Upgrading' }, desired: 'v1.37.2', deployment: done, answering: true }, want: 'v1.37.2' },
    { name: 'the installed version while an installed control plane does not answer', in: { current: { version: 'v1.36.0', status: 'Upgrading' }, desired: 'v1.37.2', deployment: done, answering: false }, want: 'v1.36.0' },
  ];
  for (const tc of upgrade) it(`versions the tenant addons by ${tc.name}`, () => expect(addonVersion(tc.in)).to.equal(tc.want));

  it('counts a rollout done only when observed, fully updated and with no old pods left', () => {
    expect([done, notObserved, surging, undefined].map(rolledOut)).to.deep.equal([true, false, false, false]);
  });
});
