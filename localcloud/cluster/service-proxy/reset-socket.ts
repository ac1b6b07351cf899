// A reset (RST) for a relayed connection, which Node cannot give a socket whose half-close is still under way:
// libuv refuses to reset a stream that is shutting down (EINVAL), and Node has already let go of the handle by
// then, so the socket never closes and its descriptor stays open for the life of the process. Such a socket is
// closed plainly instead: its peer already has our FIN queued, so it sees the end of the stream either way.
import type { Socket } from 'node:net';

export function resetSocket(socket: Socket): void {
  if (socket.writableEnded && !socket.writableFinished) socket.destroy();
  else socket.resetAndDestroy();
}
