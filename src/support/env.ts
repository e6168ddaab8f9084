// Process-wide settings that must hold before any AWS SDK module loads.

/** The SDK warns on Node 20 at client construction; that text would land in users' ssh sessions. */
export function quietAwsSdk(env: NodeJS.ProcessEnv): void {
  env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
}

export function isTruthy(value: string | undefined): boolean {
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false'
}
