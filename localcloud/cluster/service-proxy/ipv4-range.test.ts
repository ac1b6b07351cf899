import { expect } from 'chai';
import { formatIPv4, IPv4Range, parseIPv4 } from './ipv4-range.js';

describe('service-proxy/ipv4-range', () => {
  const parseCases: { text: string; value: number | undefined }[] = [
    { text: '10.255.255.1', value: 0x0affff01 },
    { text: '0.0.0.0', value: 0 },
    { text: '255.255.255.255', value: 0xffffffff },
    { text: '256.0.0.1', value: undefined },
    { text: '10.0.0', value: undefined },
    { text: '10.0.0.01', value: undefined },
    { text: 'fd00::1', value: undefined },
    { text: '', value: undefined },
  ];
  for (const tc of parseCases) {
    it(`parses "${tc.text}" as ${tc.value ?? 'no address'}`, () => {
      expect(parseIPv4(tc.text)).to.equal(tc.value);
    });
  }

  it('formats what it parses back to the same text', () => {
    expect(formatIPv4(parseIPv4('192.168.7.254') ?? -1)).to.equal('192.168.7.254');
  });

  it('hands out a /24 without its network and broadcast addresses, lowest first', () => {
    const hosts = [...IPv4Range.parse('10.255.255.0/24').hosts()];
    expect(hosts).to.have.length(254);
    expect(hosts[0]).to.equal('10.255.255.1');
    expect(hosts.at(-1)).to.equal('10.255.255.254');
  });

  it('hands out every address of a /31 and the one of a /32', () => {
    expect([...IPv4Range.parse('10.0.0.4/31').hosts()]).to.deep.equal(['10.0.0.4', '10.0.0.5']);
    expect([...IPv4Range.parse('10.0.0.9/32').hosts()]).to.deep.equal(['10.0.0.9']);
  });

  it('normalises a CIDR written with host bits set and tells inside from outside', () => {
    const range = IPv4Range.parse('10.96.3.7/16');
    expect(range.contains('10.96.0.1')).to.be.true;
    expect(range.contains('10.96.255.255')).to.be.true;
    expect(range.contains('10.97.0.0')).to.be.false;
    expect(range.contains('not-an-ip')).to.be.false;
  });

  for (const bad of ['10.0.0.0', '10.0.0.0/33', '10.0.0.0/x', 'fd00::/64']) {
    it(`rejects "${bad}" with an example of a valid CIDR`, () => {
      expect(() => IPv4Range.parse(bad)).to.throw(/is not an IPv4 CIDR such as/);
    });
  }
});
