import { expect } from 'chai';
import { planBoot } from './boot-commands.js';

describe('guest boot commands', () => {
  it("recognises CABPK's join command chained to the sentinel write", () => {
    expect(planBoot(['kubeadm join --config /run/kubeadm/kubeadm-join-config.yaml  && echo success > /run/cluster-api/bootstrap-success.complete'])).to.deep.equal([
      [
        { kind: 'kubeadm', phase: 'join', config: '/run/kubeadm/kubeadm-join-config.yaml', command: 'kubeadm join --config /run/kubeadm/kubeadm-join-config.yaml' },
        { kind: 'sentinel', path: '/run/cluster-api/bootstrap-success.complete', content: 'success\n', command: 'echo success > /run/cluster-api/bootstrap-success.complete' },
      ],
    ]);
  });

  it('recognises kubeadm init with --config=, a full kubeadm path and verbosity flags; other commands are not run', () => {
    const plan = planBoot(['/usr/bin/kubeadm init --config=/run/kubeadm/kubeadm.yaml -v 5; hostnamectl set-hostname x', "echo 'done' > /run/cluster-api/bootstrap-success.complete"]);
    expect(plan.map((chain) => chain.map((s) => s.kind))).to.deep.equal([['kubeadm'], ['not-run'], ['sentinel']]);
    expect(plan[0]?.[0]).to.include({ phase: 'init', config: '/run/kubeadm/kubeadm.yaml' });
    expect(plan[2]?.[0]).to.include({ content: 'done\n' });
  });

  it('refuses kubeadm join without --config, which it cannot interpret', () => {
    expect(() => planBoot(['kubeadm join 10.0.0.1:6443 --token abc'])).to.throw(/only with --config/);
  });
});
