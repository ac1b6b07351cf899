import { expect } from 'chai';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import type { EventInput } from '../../lib/controller/event-recorder.js';
import type { KubeObject } from '../../lib/kube/object.js';
import { Audit, type SessionRecord } from './audit.js';
import type { VmTarget } from './vm-sandboxes.js';

const vm: VmTarget = {
  namespace: 'tenants',
  name: 'w1',
  uid: 'uid-w1',
  subject: { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', metadata: { name: 'w1', namespace: 'tenants', uid: 'vm-uid' } },
  sshKeys: undefined,
};
const caller = { name: 'uid 0 (pid 42 crictl)' };

function setup() {
  const events: { regarding: KubeObject; input: EventInput }[] = [];
  const registry = new Registry();
  let now = 1_000;
  const audit = new Audit({ log: pino({ level: 'silent' }), recorder: { event: (regarding, input) => events.push({ regarding, input }) }, registry, now: () => now });
  const advance = (ms: number) => {
    now += ms;
  };
  return { audit, events, registry, advance };
}

describe('streaming/operator/audit', () => {
  it('records an ended exec as a Normal Event on the VM: who, what, how long, the exit code and details', async () => {
    const { audit, events, advance } = setup();
    const record: SessionRecord = { kind: 'exec', caller, vm, what: 'ran "sh -c \'exit 3\'" over SSH' };
    const code = await audit.session(
      record,
      () => {
        advance(1_250);
        return Promise.resolve(3);
      },
      (c) => ({ exitCode: c, detail: 'host key SHA256:abc' }),
    );
    expect(code).to.equal(3);
    expect(events).to.deep.equal([
      {
        regarding: vm.subject,
        input: { type: 'Normal', reason: 'OperatorExec', action: 'Exec', note: 'uid 0 (pid 42 crictl) ran "sh -c \'exit 3\'" over SSH for 1.25s: exit code 3; host key SHA256:abc' },
      },
    ]);
  });

  it('records a failed session as a Warning with the error, and passes the error on', async () => {
    const { audit, events } = setup();
    const failing = audit.session({ kind: 'attach', caller, vm, what: 'attached to the serial console' }, () => Promise.reject(new Error('403 Forbidden')), () => ({}));
    let thrown: unknown;
    try {
      await failing;
    } catch (err) {
      thrown = err;
    }
    expect((thrown as Error).message).to.equal('403 Forbidden');
    expect(events.map((e) => e.input)).to.deep.equal([{ type: 'Warning', reason: 'OperatorAttach', action: 'Attach', note: 'uid 0 (pid 42 crictl) attached to the serial console for 0.00s: failed: 403 Forbidden' }]);
  });

  it('counts sessions by kind and result, and shows the running ones until they end', async () => {
    const { audit, registry } = setup();
    let release: (() => void) | undefined;
    const running = audit.session({ kind: 'port-forward', caller, vm, what: 'forwarded port 22' }, () => new Promise<void>((resolve) => (release = resolve)), () => ({}));
    expect(audit.active).to.equal(1);
    expect(await registry.getSingleMetricAsString('kvcloud_streaming_operator_active_sessions')).to.include('kvcloud_streaming_operator_active_sessions{kind="port-forward"} 1');
    const drained = audit.drain(5_000);
    release?.();
    await running;
    await drained;
    expect(audit.active).to.equal(0);
    expect(await registry.getSingleMetricAsString('kvcloud_streaming_operator_sessions_total')).to.include('kvcloud_streaming_operator_sessions_total{kind="port-forward",result="ok"} 1');
  });

  it('stops waiting for sessions at the drain deadline', async () => {
    const { audit } = setup();
    void audit.session({ kind: 'attach', caller, vm, what: 'attached to the serial console' }, () => new Promise<void>(() => undefined), () => ({}));
    const started = Date.now();
    await audit.drain(50);
    expect(Date.now() - started).to.be.lessThan(1_000);
    expect(audit.active).to.equal(1);
  });
});
