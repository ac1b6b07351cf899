// The channel framing of Kubernetes' WebSocket streaming protocols: every message starts with its channel
// number (one byte in the binary protocols, an ASCII digit before base64 data in the base64 ones). v5 adds a
// control message, 255 followed by a channel number, that closes the client's half of that channel (stdin EOF).
export const CHANNEL_STDIN = 0;
export const CHANNEL_STDOUT = 1;
export const CHANNEL_STDERR = 2;
export const CHANNEL_ERROR = 3;
export const CHANNEL_RESIZE = 4;
export const CHANNEL_CLOSE_SIGNAL = 255;

export function isBase64Protocol(protocol: string): boolean {
  return protocol.includes('base64.');
}

export function supportsStreamClose(protocol: string): boolean {
  return protocol === 'v5.channel.k8s.io';
}

export type ChannelMessage = { kind: 'data'; channel: number; data: Buffer } | { kind: 'close'; channel: number } | { kind: 'empty' };

export class ChannelProtocolError extends Error {}

export function encodeChannelMessage(protocol: string, channel: number, data: Buffer): Buffer | string {
  if (isBase64Protocol(protocol)) return String.fromCharCode(48 + channel) + data.toString('base64');
  const frame = Buffer.allocUnsafe(data.length + 1);
  frame[0] = channel;
  data.copy(frame, 1);
  return frame;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function decodeChannelMessage(protocol: string, message: Buffer): ChannelMessage {
  if (message.length === 0) return { kind: 'empty' };
  const first = message[0] ?? 0;
  if (supportsStreamClose(protocol) && first === CHANNEL_CLOSE_SIGNAL) {
    if (message.length !== 2) throw new ChannelProtocolError(`close signal must name exactly one channel, got ${String(message.length - 1)} bytes`);
    return { kind: 'close', channel: message[1] ?? 0 };
  }
  if (!isBase64Protocol(protocol)) return { kind: 'data', channel: first, data: message.subarray(1) };
  const channel = first - 48;
  if (channel < 0 || channel > 9) throw new ChannelProtocolError(`base64 message starts with ${JSON.stringify(String.fromCharCode(first))}, not a channel digit`);
  const text = message.toString('latin1', 1);
  if (!BASE64.test(text)) throw new ChannelProtocolError(`channel ${String(channel)}: message is not valid base64`);
  return { kind: 'data', channel, data: Buffer.from(text, 'base64') };
}
