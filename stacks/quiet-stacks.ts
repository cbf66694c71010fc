/**
 * Synthesis without cdktf's creation stack traces. cdktf captures a full, formatted stack trace
 * (Error.captureStackTrace with no depth limit) for every token and every complex attribute of
 * every resource, only to quote it if that token later fails to resolve. For 1000 nodes that is
 * ~60 000 traces and most of the synth time (more with tsx's source maps). Inside
 * `withoutCreationStacks` those captures are skipped; errors keep their name and message.
 * Node's own errors are unaffected (its internals hold their own reference to captureStackTrace).
 * Set YAGURA_SYNTH_STACK_TRACES=1 to keep the traces when debugging a resolution error.
 */

/** Runs `fn` with stack-trace formatting and source maps off, restoring both afterwards. */
export function withoutCreationStacks<T>(fn: () => T): T {
  if (process.env.YAGURA_SYNTH_STACK_TRACES === "1") return fn();
  const capture = Error.captureStackTrace;
  const previous = Error.prepareStackTrace;
  const maps = process.sourceMapsEnabled;
  process.setSourceMapsEnabled(false);
  Error.captureStackTrace = () => {};
  // Errors created inside still carry their name and message; only the frames are lost.
  Error.prepareStackTrace = (err: Error) => `${err.name}: ${err.message}`;
  try {
    return fn();
  } finally {
    Error.captureStackTrace = capture;
    Error.prepareStackTrace = previous;
    process.setSourceMapsEnabled(maps);
  }
}
