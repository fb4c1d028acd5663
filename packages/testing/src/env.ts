/**
 * Runs `run` with the environment variable `name` set to `value` and puts the previous value back
 * afterwards (removing the variable when it was unset), also when `run` throws. For switches the
 * native kernels read at every call (`RTKD_NATIVE_WINOGRAD`, `RTKD_NATIVE_BN`, …).
 */
export function withEnv<T>(name: string, value: string, run: () => T): T {
  const before = process.env[name];
  process.env[name] = value;
  try {
    return run();
  } finally {
    if (before === undefined) delete process.env[name];
    else process.env[name] = before;
  }
}
