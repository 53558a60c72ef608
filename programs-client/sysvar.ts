import { SYSVAR_CLOCK_PUBKEY } from "@solana/web3.js";

/** The Clock sysvar: slot u64, epoch_start_timestamp i64, epoch u64, leader_schedule_epoch u64, unix_timestamp i64. */
const CLOCK_UNIX_TIMESTAMP_OFFSET = 32;
const CLOCK_SIZE = 40;

export { SYSVAR_CLOCK_PUBKEY };

/**
 * The chain's own unix time from the Clock sysvar's bytes, or null when they are not a Clock. Jupiter judges a
 * request's expiry by this clock, not by anyone's wall clock, so the keeper reads it beside the request.
 */
export function clockUnixTimestamp(data: Uint8Array): bigint | null {
  if (data.length < CLOCK_SIZE) return null;
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).readBigInt64LE(CLOCK_UNIX_TIMESTAMP_OFFSET);
}
