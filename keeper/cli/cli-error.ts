/** Exit codes: 1 for a failure of the world (RPC down), 2 for input the user can fix. */
export const EXIT_RUNTIME = 1;
export const EXIT_USAGE = 2;

/** An error whose message is the one line the user sees. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_USAGE,
  ) {
    super(message);
    this.name = "CliError";
  }
}
