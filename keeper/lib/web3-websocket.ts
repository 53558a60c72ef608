import type { Connection } from "@solana/web3.js";

/**
 * web3.js 1.x gives no public handle on a Connection's WebSocket: it reconnects forever (`max_reconnects:
 * Infinity`) and prints every error with console.error. These two functions reach its private rpc-websockets
 * client, the only handle there is.
 */
interface RpcWebSocketClient {
  connect(): void;
  setAutoReconnect(on: boolean): void;
  close(code?: number): void;
  reconnect_timer_id?: NodeJS.Timeout;
  removeAllListeners(event: string): void;
  on(event: string, listener: (arg: Error) => void): void;
  on(event: "close", listener: (code: number, reason: string) => void): void;
}

interface Web3ConnectionInternals {
  _rpcWebSocket?: RpcWebSocketClient;
  _rpcWebSocketConnected: boolean;
  _rpcWebSocketIdleTimeout: NodeJS.Timeout | null;
}

function internals(connection: Connection): Web3ConnectionInternals {
  return connection as unknown as Web3ConnectionInternals;
}

/** Closes a Connection's WebSocket for good, so a Connection whose endpoint is gone lets the process exit. */
export function closeWebSocket(connection: Connection): void {
  const c = internals(connection);
  const ws = c._rpcWebSocket;
  if (!ws) return;
  // web3.js retries a failed unsubscribe at once, without yielding, for as long as it believes the socket is up.
  // Closed while a subscription was still being set up, it looped until the heap ran out. Marked down, with
  // connect disabled and no idle timer to mark it up again, each retry ends at its first step.
  c._rpcWebSocketConnected = false;
  if (c._rpcWebSocketIdleTimeout) clearTimeout(c._rpcWebSocketIdleTimeout);
  c._rpcWebSocketIdleTimeout = null;
  ws.connect = () => {};
  ws.setAutoReconnect(false);
  clearTimeout(ws.reconnect_timer_id);
  try {
    ws.close();
  } catch {
    // not connected: nothing to close
  }
}

/**
 * Sends WebSocket errors to `report` instead of stderr, once per outage: a dead endpoint would otherwise print
 * an unstructured "ws error" line every second, outside the JSON log and its redaction.
 */
export function routeWebSocketErrors(connection: Connection, report: (message: string) => void): void {
  const c = internals(connection);
  const ws = c._rpcWebSocket;
  if (!ws) return;
  let reported = false;
  ws.removeAllListeners("error");
  ws.on("error", (err: Error) => {
    c._rpcWebSocketConnected = false; // what web3.js's own handler does, besides printing
    if (reported) return;
    reported = true;
    report(err?.message ?? String(err));
  });
  ws.on("open", () => {
    reported = false;
  });
}

/**
 * Calls `listener` each time the Connection's WebSocket closes (web3.js then reconnects and resubscribes by itself,
 * but whatever was notified while it was down is lost, so a subscriber must re-read).
 */
export function onWebSocketClose(connection: Connection, listener: (code: number) => void): void {
  internals(connection)._rpcWebSocket?.on("close", (code: number) => listener(code));
}
