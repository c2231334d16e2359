// WebSocket echo: any `Upgrade: websocket` request on any path is accepted; every message
// goes back unchanged (text as text, binary as binary). Nothing is sent on open, so a
// client sees a pure echo; the 101 response carries X-Server.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';

// Stop reading from a client while this much echo is queued towards it (back-pressure).
const PAUSE_ABOVE = 1 << 20;
const RESUME_BELOW = 1 << 18;

export interface WebSocketEcho {
  /** For http.Server's 'upgrade' event. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Start a closing handshake (1001 going away) with every open WebSocket. */
  closeAll(): void;
}

function echo(ws: WebSocket): void {
  let paused = false;
  ws.on('message', (data, isBinary) => {
    ws.send(data as Buffer, { binary: isBinary }, () => {
      if (paused && ws.bufferedAmount < RESUME_BELOW) {
        paused = false;
        ws.resume();
      }
    });
    if (!paused && ws.bufferedAmount > PAUSE_ABOVE) {
      paused = true;
      ws.pause();
    }
  });
  // Protocol errors and resets end this connection only.
  ws.on('error', () => ws.terminate());
}

export function createWebSocketEcho(serverName: () => string): WebSocketEcho {
  const wss = new WebSocketServer({ noServer: true, clientTracking: true });
  wss.on('headers', (headers) => headers.push(`X-Server: ${serverName()}`));
  wss.on('connection', echo);
  return {
    upgrade(req, socket, head) {
      socket.on('error', () => socket.destroy());
      if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
        const body = 'only websocket upgrades are accepted\n';
        socket.end(
          `HTTP/1.1 400 Bad Request\r\nX-Server: ${serverName()}\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
        );
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    },
    closeAll() {
      for (const ws of wss.clients) ws.close(1001, 'server stopping');
    },
  };
}
