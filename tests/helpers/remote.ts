import type { LocalWorld } from "../../localnet/world";

/** Every method a localnet playing the remote cluster is asked, and every key getMultipleAccounts asks it for. */
export function recordRemote(remote: LocalWorld) {
  const seen = { methods: [] as string[], keys: [] as string[], batches: [] as number[] };
  const dispatch = remote.server.dispatch.bind(remote.server);
  remote.server.dispatch = (request) => {
    seen.methods.push(String(request.method));
    if (request.method === "getMultipleAccounts" && Array.isArray(request.params)) {
      seen.keys.push(...(request.params[0] as string[]));
      seen.batches.push((request.params[0] as string[]).length);
    }
    return dispatch(request);
  };
  return seen;
}
