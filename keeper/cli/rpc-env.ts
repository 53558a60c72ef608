/** The RPC defaults, apart from rpc.ts so that --help can name them without loading web3.js. */
export const DEFAULT_RPC_URL = "http://127.0.0.1:8899";
export const RPC_ENV = "GAMMA_KEEPER_RPC_URL";
