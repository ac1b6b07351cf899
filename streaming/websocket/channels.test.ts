import { expect } from 'chai';
import { ChannelProtocolError, decodeChannelMessage, encodeChannelMessage } from './channels.js';

describe('WebSocket channel framing', () => {
  const encode = [
    { name: 'binary: channel byte then data', protocol: 'v4.channel.k8s.io', channel: 1, data: 'hi', want: Buffer.from([1, 0x68, 0x69]) },
    { name: 'base64: channel digit then base64', protocol: 'base64.channel.k8s.io', channel: 1, data: 'foo\n', want: '1Zm9vCg==' },
    { name: 'v4 base64 the same way', protocol: 'v4.base64.channel.k8s.io', channel: 3, data: '', want: '3' },
  ];
  for (const tc of encode) {
    it(`encodes ${tc.name}`, () => {
      expect(encodeChannelMessage(tc.protocol, tc.channel, Buffer.from(tc.data))).to.deep.equal(tc.want);
    });
  }
  const decode = [
    { name: 'binary stdin', protocol: 'channel.k8s.io', message: Buffer.from([0, 0x61]), want: { kind: 'data', channel: 0, data: Buffer.from('a') } },
    { name: 'base64 stdin', protocol: 'base64.channel.k8s.io', message: Buffer.from('0Zm9vCg=='), want: { kind: 'data', channel: 0, data: Buffer.from('foo\n') } },
    { name: 'the v5 stdin close signal', protocol: 'v5.channel.k8s.io', message: Buffer.from([255, 0]), want: { kind: 'close', channel: 0 } },
    { name: '255 before v5 as a plain channel number', protocol: 'v4.channel.k8s.io', message: Buffer.from([255, 0]), want: { kind: 'data', channel: 255, data: Buffer.from([0]) } },
    { name: 'an empty message', protocol: 'v5.channel.k8s.io', message: Buffer.alloc(0), want: { kind: 'empty' } },
  ];
  for (const tc of decode) {
    it(`decodes ${tc.name}`, () => {
      expect(decodeChannelMessage(tc.protocol, tc.message)).to.deep.equal(tc.want);
    });
  }
  const bad = [
    { name: 'a close signal naming two channels', protocol: 'v5.channel.k8s.io', message: Buffer.from([255, 0, 1]) },
    { name: 'a base64 message without a channel digit', protocol: 'base64.channel.k8s.io', message: Buffer.from('xZm9v') },
    { name: 'invalid base64', protocol: 'v4.base64.channel.k8s.io', message: Buffer.from('0!!!') },
  ];
  for (const tc of bad) {
    it(`rejects ${tc.name}`, () => {
      expect(() => decodeChannelMessage(tc.protocol, tc.message)).to.throw(ChannelProtocolError);
    });
  }
});
