import type { Connection } from "@solana/web3.js";

interface RpcWebSocketClient {
  setAutoReconnect(on: boolean): void;
  close(code?: number): void;
  reconnect_timer_id?: NodeJS.Timeout;
}

/**
 * Closes a web3.js Connection's WebSocket for good. web3.js 1.x has no public close and reconnects forever
 * (`max_reconnects: Infinity`), so a Connection whose endpoint is gone keeps the process alive and prints
 * "ws error" every second. This reaches its private rpc-websockets client, the only handle there is.
 */
export function closeWebSocket(connection: Connection): void {
  const ws = (connection as unknown as { _rpcWebSocket?: RpcWebSocketClient })._rpcWebSocket;
  if (!ws) return;
  ws.setAutoReconnect(false);
  clearTimeout(ws.reconnect_timer_id);
  try {
    ws.close();
  } catch {
    // not connected: nothing to close
  }
}
