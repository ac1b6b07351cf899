import { expect } from 'chai';
import { toV1Beta1Conditions, mirrorV1Beta1Conditions } from './conditions-v1beta1.js';
import { CLUSTER_API_SUMMARY_REASONS, getCondition, markFalse, markTrue, removeCondition, setCondition, setReadySummary, type ObjectWithConditions } from './conditions.js';

function machine(generation = 1): ObjectWithConditions {
  return { apiVersion: 'x/v1', kind: 'M', metadata: { name: 'm', generation } };
}

describe('lib/controller/conditions', () => {
  it('records the generation it observed and a second-precision transition time', () => {
    const obj = machine(3);
    setCondition(obj, { type: 'VMReady', status: 'False', reason: 'Provisioning' }, new Date('2030-01-01T00:00:00.123Z'));
    expect(getCondition(obj, 'VMReady')).to.deep.equal({
      type: 'VMReady',
      status: 'False',
      observedGeneration: 3,
      lastTransitionTime: '2030-01-01T00:00:00Z',
      reason: 'Provisioning',
      message: '',
    });
  });

  it('keeps lastTransitionTime when only reason, message or generation change', () => {
    const obj = machine(1);
    setCondition(obj, { type: 'A', status: 'False', reason: 'One' }, new Date('2030-01-01T00:00:00Z'));
    obj.metadata.generation = 2;
    const changed = setCondition(obj, { type: 'A', status: 'False', reason: 'Two', message: 'm' }, new Date('2030-01-02T00:00:00Z'));
    expect(changed).to.be.true;
    expect(getCondition(obj, 'A')).to.include({ reason: 'Two', observedGeneration: 2, lastTransitionTime: '2030-01-01T00:00:00Z' });
  });

  it('moves lastTransitionTime when the status flips', () => {
    const obj = machine();
    setCondition(obj, { type: 'A', status: 'False', reason: 'One' }, new Date('2030-01-01T00:00:00Z'));
    setCondition(obj, { type: 'A', status: 'True', reason: 'Done' }, new Date('2030-01-02T00:00:00Z'));
    expect(getCondition(obj, 'A')?.lastTransitionTime).to.equal('2030-01-02T00:00:00Z');
  });

  it('reports no change and leaves the list untouched when setting the same condition again', () => {
    const obj = machine();
    markTrue(obj, 'A', 'Done');
    markFalse(obj, 'B', 'Waiting');
    const before = structuredClone(obj);
    expect(markTrue(obj, 'A', 'Done')).to.be.false;
    expect(obj).to.deep.equal(before);
  });

  it('refuses a reason that is not CamelCase, as the API would', () => {
    expect(() => setCondition(machine(), { type: 'A', status: 'True', reason: 'not ok' })).to.throw(/CamelCase/);
  });

  it('removes a condition', () => {
    const obj = machine();
    markTrue(obj, 'A', 'Done');
    expect(removeCondition(obj, 'A')).to.be.true;
    expect(removeCondition(obj, 'A')).to.be.false;
  });

  describe('Ready summary', () => {
    it('is True when every listed condition is good, counting negative polarity', () => {
      const obj = machine();
      markTrue(obj, 'VMReady', 'Running');
      markFalse(obj, 'Paused', 'NotPaused');
      setReadySummary(obj, { conditions: ['VMReady', 'Paused'], negativePolarity: ['Paused'] });
      expect(getCondition(obj, 'Ready')).to.include({ status: 'True', reason: 'Ready' });
    });

    it('is False with the first bad condition reason and names every problem', () => {
      const obj = machine();
      markFalse(obj, 'BootstrapReady', 'WaitingForBootstrapData', 'no data secret yet');
      markFalse(obj, 'VMReady', 'VMNotCreated', 'waiting for bootstrap');
      setReadySummary(obj, { conditions: ['BootstrapReady', 'VMReady', 'NetworkReady'] });
      const ready = getCondition(obj, 'Ready');
      expect(ready).to.include({ status: 'False', reason: 'WaitingForBootstrapData' });
      expect(ready?.message).to.equal(
        '* BootstrapReady: no data secret yet\n* VMReady: waiting for bootstrap\n* NetworkReady: condition not yet reported',
      );
    });

    it('is Unknown when nothing is bad but something is not yet known', () => {
      const obj = machine();
      markTrue(obj, 'A', 'Done');
      setReadySummary(obj, { conditions: ['A', 'B'] });
      expect(getCondition(obj, 'Ready')).to.include({ status: 'Unknown', reason: 'NotYetReported' });
    });

    it('gives Cluster API\'s summary reasons when asked, whatever the summarised conditions say', () => {
      const obj = machine();
      const reasons = CLUSTER_API_SUMMARY_REASONS;
      markTrue(obj, 'A', 'Done');
      setReadySummary(obj, { conditions: ['A', 'B'], reasons });
      expect(getCondition(obj, 'Ready')).to.include({ status: 'Unknown', reason: 'UnknownReported', message: '* B: condition not yet reported' });
      markFalse(obj, 'B', 'Broken', 'it broke');
      setReadySummary(obj, { conditions: ['A', 'B'], reasons });
      expect(getCondition(obj, 'Ready')).to.include({ status: 'False', reason: 'IssuesReported', message: '* B: it broke' });
      markTrue(obj, 'B', 'Fixed');
      setReadySummary(obj, { conditions: ['A', 'B'], reasons });
      expect(getCondition(obj, 'Ready')).to.include({ status: 'True', reason: 'InfoReported' });
    });
  });

  describe('v1beta1 mirror', () => {
    it('puts Ready first, sorts the rest and drops reason and severity from True conditions', () => {
      const obj = machine();
      markFalse(obj, 'Zeta', 'Waiting', 'still waiting');
      markTrue(obj, 'Alpha', 'Done');
      markFalse(obj, 'Ready', 'Waiting');
      const mirrored = toV1Beta1Conditions(obj.status?.conditions ?? []);
      expect(mirrored.map((c) => c.type)).to.deep.equal(['Ready', 'Alpha', 'Zeta']);
      expect(mirrored[1]).to.have.keys(['type', 'status', 'lastTransitionTime']);
      expect(mirrored[2]).to.include({ severity: 'Warning', reason: 'Waiting', message: 'still waiting' });
    });

    it('gives Ready the reason and message of the worst summarised condition, as v1beta1 summaries did', () => {
      const obj = machine();
      markTrue(obj, 'A', 'Done');
      markFalse(obj, 'B', 'WaitingForData', 'no data yet');
      setReadySummary(obj, { conditions: ['A', 'B'], reasons: CLUSTER_API_SUMMARY_REASONS });
      const [ready] = toV1Beta1Conditions(obj.status?.conditions ?? [], { readySummaryOf: ['A', 'B'] });
      expect(ready).to.include({ type: 'Ready', status: 'False', reason: 'WaitingForData', message: 'no data yet' });
      markTrue(obj, 'B', 'Done');
      setReadySummary(obj, { conditions: ['A', 'B'], reasons: CLUSTER_API_SUMMARY_REASONS });
      expect(toV1Beta1Conditions(obj.status?.conditions ?? [], { readySummaryOf: ['A', 'B'] })[0]).to.have.keys(['type', 'status', 'lastTransitionTime']);
    });

    it('writes the mirror under status.deprecated.v1beta1.conditions', () => {
      const obj = machine();
      markTrue(obj, 'Ready', 'Ready');
      mirrorV1Beta1Conditions(obj);
      const status = obj.status as { deprecated?: { v1beta1?: { conditions?: unknown[] } } };
      expect(status.deprecated?.v1beta1?.conditions).to.have.length(1);
    });
  });
});
