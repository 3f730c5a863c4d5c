/** Where a command writes: stdout and stderr in the CLI, a buffer in tests. */
export interface Io {
  out(s: string): void
  err(s: string): void
}
