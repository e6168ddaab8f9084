// Unit tests that need the AWS SDK to read the environment: set variables for one body, then restore.

/** Run `body` with these environment variables (undefined deletes one), restoring the old values after. */
export async function withEnv<T>(
  vars: Record<string, string | undefined>,
  body: () => Promise<T>,
): Promise<T> {
  const old = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]))
  const apply = (v: Record<string, string | undefined>) => {
    for (const [k, val] of Object.entries(v)) {
      if (val === undefined) delete process.env[k]
      else process.env[k] = val
    }
  }
  apply(vars)
  try {
    return await body()
  } finally {
    apply(old)
  }
}
