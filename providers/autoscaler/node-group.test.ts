import { expect } from 'chai';
import type { MachineDeployment } from '../../lib/apis/cluster-api.js';
import { autoscalingOptions, nodeGroupId, parseGoDuration, parseNodeGroupId, sizeLimits, type AutoscalingOptions } from './node-group.js';

const md = (annotations: Record<string, string>): MachineDeployment => ({ metadata: { namespace: 'ns', name: 'md', annotations } });
const MIN = 'cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size';
const MAX = 'cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size';

describe('providers/autoscaler/node-group', () => {
  it('round-trips node group ids and rejects ids of other shapes', () => {
    expect(nodeGroupId({ namespace: 'ns', name: 'md-0' })).to.equal('MachineDeployment/ns/md-0');
    expect(parseNodeGroupId('MachineDeployment/ns/md-0')).to.deep.equal({ namespace: 'ns', name: 'md-0' });
    for (const id of ['', 'md-0', 'MachineSet/ns/md', 'MachineDeployment/ns', 'MachineDeployment/ns/md/x', 'MachineDeployment/NS/md']) expect(parseNodeGroupId(id), id).to.equal(undefined);
  });

  const limitCases: { name: string; annotations: Record<string, string>; want: ReturnType<typeof sizeLimits> | RegExp }[] = [
    { name: 'no annotations: not a node group', annotations: {}, want: undefined },
    { name: 'both bounds', annotations: { [MIN]: '0', [MAX]: '5' }, want: { min: 0, max: 5 } },
    { name: 'equal bounds', annotations: { [MIN]: '2', [MAX]: '2' }, want: { min: 2, max: 2 } },
    { name: 'min only', annotations: { [MIN]: '1' }, want: /needs both/ },
    { name: 'max only', annotations: { [MAX]: '1' }, want: /needs both/ },
    { name: 'negative min', annotations: { [MIN]: '-1', [MAX]: '1' }, want: /min-size is "-1"/ },
    { name: 'not a number', annotations: { [MIN]: '0', [MAX]: 'ten' }, want: /max-size is "ten"/ },
    { name: 'max below min', annotations: { [MIN]: '3', [MAX]: '2' }, want: /max size 2 is below min size 3/ },
  ];
  for (const tc of limitCases) {
    it(`size limits: ${tc.name}`, () => {
      const got = sizeLimits(md(tc.annotations));
      if (tc.want instanceof RegExp) expect(got && 'problem' in got ? got.problem : '').to.match(tc.want);
      else expect(got).to.deep.equal(tc.want);
    });
  }

  const durations: [string, ReturnType<typeof parseGoDuration>][] = [
    ['0', { seconds: 0, nanos: 0 }],
    ['90s', { seconds: 90, nanos: 0 }],
    ['1h30m', { seconds: 5400, nanos: 0 }],
    ['1.5m', { seconds: 90, nanos: 0 }],
    ['250ms', { seconds: 0, nanos: 250_000_000 }],
    ['10', undefined],
    ['-5s', undefined],
    ['5 s', undefined],
    ['', undefined],
  ];
  for (const [text, want] of durations) it(`parses the Go duration "${text}"`, () => expect(parseGoDuration(text)).to.deep.equal(want));

  it('puts the annotated options over the defaults and names what it ignored', () => {
    const defaults: AutoscalingOptions = {
      scaleDownUtilizationThreshold: 0.5,
      scaleDownGpuUtilizationThreshold: 0.5,
      zeroOrMaxNodeScaling: false,
      ignoreDaemonSetsUtilization: false,
      scaleDownUnneededDuration: { seconds: 600, nanos: 0 },
      scaleDownUnreadyDuration: { seconds: 1200, nanos: 0 },
      MaxNodeProvisionDuration: { seconds: 900, nanos: 0 },
    };
    const p = 'cluster.x-k8s.io/autoscaling-options-';
    const { options, problems } = autoscalingOptions(
      defaults,
      md({
        [`${p}scaledownutilizationthreshold`]: '0.3',
        [`${p}scaledowngpuutilizationthreshold`]: '2',
        [`${p}scaledownunreadytime`]: '5m',
        [`${p}maxnodeprovisiontime`]: '1m',
        [`${p}ignoredaemonsetsutilization`]: 'true',
        [`${p}zeroormaxnodescaling`]: 'yes',
        [`${p}nosuchoption`]: '1',
        unrelated: 'x',
      }),
    );
    expect(options).to.deep.equal({
      ...defaults,
      scaleDownUtilizationThreshold: 0.3,
      scaleDownUnreadyDuration: { seconds: 300, nanos: 0 },
      MaxNodeProvisionDuration: { seconds: 60, nanos: 0 },
      ignoreDaemonSetsUtilization: true,
    });
    expect(problems).to.have.length(3);
    expect(problems.join('\n')).to.match(/scaledowngpuutilizationthreshold: "2"/).and.match(/zeroormaxnodescaling: "yes"/).and.match(/nosuchoption: no such option/);
  });
});
