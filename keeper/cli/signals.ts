/**
 * Resolves on the first SIGINT or SIGTERM. The listeners stay: Ctrl-C under npm delivers SIGINT twice (from the
 * terminal and forwarded by npm), and a second one with no listener would kill the process mid-shutdown, before
 * the journal is flushed and the summary printed. Signal listeners do not keep the process alive.
 */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    process.on("SIGINT", resolve);
    process.on("SIGTERM", resolve);
  });
}
