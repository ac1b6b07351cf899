// Kernel NAT's rules and its iptables transactions, with an iptables that records what it is given. That the
// kernel takes these rules and keeps the client's address is proven end to end in e2e/suites/ccm and
// e2e/suites/service-proxy.
import { expect } from 'chai';
import { IPTABLES_MISSING, KernelNat, NatChains, natRules, ownedRules, runIptables, type IptablesRunner, type NatFrontend } from './kernel-nat.js';

const chains = new NatChains('kvsvc0');
const web = (extra: Partial<NatFrontend> = {}): NatFrontend => ({
  service: 'default/web',
  protocol: 'TCP',
  ip: '10.255.255.1',
  port: 80,
  endpoints: [{ ip: '10.244.0.7', port: 30080 }],
  ...extra,
});

/** An iptables that answers iptables-save with `saved` and records every restore input. */
function recordingIptables(saved = ''): { run: IptablesRunner; restores: string[]; saved: { text: string } } {
  const state = { text: saved };
  const restores: string[] = [];
  const run: IptablesRunner = (program, _args, input) => {
    if (program === 'iptables-save') return Promise.resolve(state.text);
    restores.push(input ?? '');
    return Promise.resolve('');
  };
  return { run, restores, saved: state };
}

const linesOf = (restore: string | undefined): string[] => (restore ?? '').trim().split('\n');

describe('service-proxy/kernel-nat', () => {
  describe('rules', () => {
    const f = chains.frontend(web());
    const e = chains.endpoint(web(), { ip: '10.244.0.7', port: 30080 });

    it('sends a load-balancer address to its one endpoint with DNAT only, marking for SNAT only sources that could get no reply', () => {
      expect(natRules(chains, [web()])).to.deep.equal({
        chains: [f, e],
        rules: [
          `-A KVC-kvsvc0-SERVICES -d 10.255.255.1/32 -p tcp -m tcp --dport 80 -m comment --comment "default/web" -j ${f}`,
          `-A ${f} -s 10.255.255.1/32 -j MARK --set-xmark 0x4000/0x4000`,
          `-A ${f} -j ${e}`,
          `-A ${e} -s 10.244.0.7/32 -j MARK --set-xmark 0x4000/0x4000`,
          `-A ${e} -p tcp -m tcp -j DNAT --to-destination 10.244.0.7:30080`,
        ],
      });
    });

    it('spreads over n endpoints uniformly: 1/n, then 1/(n-1) of the rest, the last one takes what is left', () => {
      const three = web({ endpoints: [1, 2, 3].map((i) => ({ ip: `10.244.0.${String(i)}`, port: 30080 })) });
      const jumps = natRules(chains, [three]).rules.filter((r) => r.startsWith(`-A ${chains.frontend(three)} `) && !r.includes(' -j MARK '));
      expect(jumps.map((r) => /--probability (\S+)/.exec(r)?.[1] ?? 'rest')).to.deep.equal(['0.3333333333', '0.5000000000', 'rest']);
    });

    it('remembers a client per endpoint for sessionAffinity ClientIP and sends it back within the timeout', () => {
      const { rules } = natRules(chains, [web({ affinityTimeoutMs: 10_800_000 })]);
      expect(rules).to.include(`-A ${f} -m recent --name ${e} --rcheck --seconds 10800 --reap -j ${e}`);
      expect(rules).to.include(`-A ${e} -p tcp -m recent --name ${e} --set -m tcp -j DNAT --to-destination 10.244.0.7:30080`);
      expect(rules.findIndex((r) => r.includes('--rcheck')), 'affinity before the random choice').to.be.lessThan(rules.findIndex((r) => r === `-A ${f} -j ${e}`));
    });

    it('matches UDP as UDP, and orders frontends by address whatever order they come in', () => {
      const dns = web({ service: 'kube-system/dns', protocol: 'UDP', ip: '10.255.255.2', port: 53 });
      const a = natRules(chains, [dns, web()]);
      expect(a).to.deep.equal(natRules(chains, [web(), dns]));
      expect(a.rules.filter((r) => r.startsWith('-A KVC-kvsvc0-SERVICES')).map((r) => r.split(' ')[3])).to.deep.equal(['10.255.255.1/32', '10.255.255.2/32']);
      expect(a.rules).to.include(`-A ${chains.endpoint(dns, { ip: '10.244.0.7', port: 30080 })} -p udp -m udp -j DNAT --to-destination 10.244.0.7:30080`);
    });

    it("names chains after the device, within iptables' 28 characters, and refuses a device name that cannot fit", () => {
      const long = new NatChains('kvsvc-tenant');
      for (const name of [long.services, long.postrouting, long.frontend(web()), long.endpoint(web(), { ip: '10.0.0.1', port: 1 })]) expect(name.length, name).to.be.at.most(28);
      expect(() => new NatChains('kvsvc-tenant-a')).to.throw(/"kvsvc-tenant-a" cannot name iptables chains/);
    });
  });

  describe('transactions', () => {
    const left = [
      '*nat',
      ':PREROUTING ACCEPT [0:0]',
      ':KVC-kvsvc0-SERVICES - [0:0]',
      ':KVC-kvsvc0-Fdeadbeef00 - [0:0]',
      ':KVC-kvsvc1-SERVICES - [0:0]',
      '-A PREROUTING -m comment --comment "kvcloud service proxy kvsvc0" -j KVC-kvsvc0-SERVICES',
      '-A PREROUTING -m comment --comment "kvcloud service proxy kvsvc1" -j KVC-kvsvc1-SERVICES',
      '-A KVC-kvsvc0-SERVICES -d 10.255.255.9/32 -p tcp -m tcp --dport 80 -j KVC-kvsvc0-Fdeadbeef00',
      'COMMIT',
    ].join('\n');

    it('opens on an empty table: two empty chains of its own, the built-in chains jumping to them, the hairpin masquerade', async () => {
      const iptables = recordingIptables('*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n');
      await KernelNat.open('kvsvc0', iptables.run);
      expect(linesOf(iptables.restores[0])).to.deep.equal([
        '*nat',
        ':KVC-kvsvc0-SERVICES - [0:0]',
        ':KVC-kvsvc0-POSTROUTING - [0:0]',
        '-I PREROUTING -m comment --comment "kvcloud service proxy kvsvc0" -j KVC-kvsvc0-SERVICES',
        '-I OUTPUT -m comment --comment "kvcloud service proxy kvsvc0" -j KVC-kvsvc0-SERVICES',
        '-I POSTROUTING -m comment --comment "kvcloud service proxy kvsvc0" -j KVC-kvsvc0-POSTROUTING',
        '-A KVC-kvsvc0-POSTROUTING -m mark --mark 0x4000/0x4000 -j MASQUERADE',
        'COMMIT',
      ]);
    });

    it("takes over what a crashed proxy of its device left, without a second jump, and leaves another device's chains alone", async () => {
      expect(ownedRules(chains, left)).to.deep.equal({
        chains: ['KVC-kvsvc0-SERVICES', 'KVC-kvsvc0-Fdeadbeef00'],
        jumps: ['-A PREROUTING -m comment --comment "kvcloud service proxy kvsvc0" -j KVC-kvsvc0-SERVICES'],
      });
      const iptables = recordingIptables(left);
      await KernelNat.open('kvsvc0', iptables.run);
      const restore = linesOf(iptables.restores[0]);
      expect(restore).to.include.members([':KVC-kvsvc0-Fdeadbeef00 - [0:0]', '-X KVC-kvsvc0-Fdeadbeef00']);
      expect(restore.filter((l) => l.startsWith('-I PREROUTING'))).to.deep.equal([]);
      expect(restore.filter((l) => l.includes('kvsvc1'))).to.deep.equal([]);
    });

    it('syncs in one transaction, skips a sync that changes nothing, and deletes the chains of a removed address', async () => {
      const iptables = recordingIptables();
      const nat = await KernelNat.open('kvsvc0', iptables.run);
      await nat.sync([web()]);
      await nat.sync([web()]);
      expect(iptables.restores).to.have.length(2);
      expect(nat.translated()).to.deep.equal(['TCP 10.255.255.1:80']);
      const { chains: used, rules } = natRules(chains, [web()]);
      expect(linesOf(iptables.restores[1])).to.deep.equal(['*nat', ':KVC-kvsvc0-SERVICES - [0:0]', ...used.map((c) => `:${c} - [0:0]`), ...rules, 'COMMIT']);

      await nat.sync([]);
      expect(linesOf(iptables.restores[2])).to.deep.equal(['*nat', ':KVC-kvsvc0-SERVICES - [0:0]', ...used.map((c) => `:${c} - [0:0]`), ...used.map((c) => `-X ${c}`), 'COMMIT']);
      expect(nat.translated()).to.deep.equal([]);
    });

    it('reports addresses translated only once iptables-restore has returned, and keeps the old ones when it fails', async () => {
      const iptables = recordingIptables();
      // After open, each iptables-restore waits until the test settles it.
      let held = false;
      let restore: { resolve: (out: string) => void; reject: (err: Error) => void } | undefined;
      const run: IptablesRunner = (program, args, input) =>
        held && program === 'iptables-restore' ? new Promise((resolve, reject) => (restore = { resolve, reject })) : iptables.run(program, args, input);
      const nat = await KernelNat.open('kvsvc0', run);
      held = true;
      const adding = nat.sync([web()]);
      await new Promise((resolve) => setImmediate(resolve));
      expect([restore !== undefined, nat.translated()], 'while iptables-restore runs').to.deep.equal([true, []]);
      restore?.resolve('');
      await adding;
      expect(nat.translated()).to.deep.equal(['TCP 10.255.255.1:80']);

      const removing = nat.sync([]).then(() => 'removed', (err: unknown) => (err as Error).message);
      await new Promise((resolve) => setImmediate(resolve));
      expect(nat.translated(), 'the rule is still in the kernel while its removal runs').to.deep.equal(['TCP 10.255.255.1:80']);
      restore?.reject(new Error('iptables-restore: line 3 failed'));
      expect(await removing).to.equal('iptables-restore: line 3 failed');
      expect(nat.translated(), 'a failed removal leaves the rule').to.deep.equal(['TCP 10.255.255.1:80']);
    });

    it('closes by removing the jumps, then flushing and deleting every chain of its device', async () => {
      const iptables = recordingIptables();
      const nat = await KernelNat.open('kvsvc0', iptables.run);
      iptables.saved.text = left;
      await nat.close();
      expect(linesOf(iptables.restores.at(-1))).to.deep.equal([
        '*nat',
        '-D PREROUTING -m comment --comment "kvcloud service proxy kvsvc0" -j KVC-kvsvc0-SERVICES',
        ':KVC-kvsvc0-SERVICES - [0:0]',
        ':KVC-kvsvc0-Fdeadbeef00 - [0:0]',
        '-X KVC-kvsvc0-SERVICES',
        '-X KVC-kvsvc0-Fdeadbeef00',
        'COMMIT',
      ]);
    });

    it('fails naming the package to install when iptables is missing', async () => {
      const path = process.env.PATH;
      process.env.PATH = '/nonexistent';
      try {
        await runIptables('iptables-save', ['-t', 'nat']).then(
          () => expect.fail('iptables-save ran without a PATH'),
          (err: unknown) => {
            expect((err as Error).message).to.equal(IPTABLES_MISSING);
          },
        );
      } finally {
        process.env.PATH = path;
      }
      expect(IPTABLES_MISSING).to.match(/install the iptables package .*apt-get install -y iptables/i);
    });
  });
});
