/**
 * Where the hot path is, stage by stage, for benchmarks: an account notification applied, a cycle started, a trade
 * decided, its transaction signed, journaled and handed to the RPC. `market` and `mandate` where a stage has them.
 * A hook must not throw or block: it runs inside the path it measures.
 */
export type TraceStage = "notified" | "cycle" | "decided" | "signed" | "journaled" | "sent";
export type TraceHook = (stage: TraceStage, at: { mandate?: string; market?: string }) => void;
