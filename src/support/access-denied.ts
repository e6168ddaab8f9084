// AccessDenied as people need it: one line naming the action, what it was refused on and the fix.
// AWS words it "User: ARN is not authorized to perform: ACTION [on resource: ARN] because no
// identity-based policy allows …" (or "with an explicit deny …"); the resource's last path part is
// what people know it by (mi-…, a session id, a document name). Shared by the API adapters and the
// data channel's websocket upgrade.

/** The line for an AWS AccessDenied text; undefined when the text is not in AWS's wording. */
export function deniedLine(message: string): string | undefined {
  const m = /is not authorized to perform: (\S+?)(?: on resource: (\S+?))?(?: (?:because|with) (.*))?$/.exec(
    message.trim(),
  )
  if (!m) return undefined
  const resource = m[2] ? ` on ${m[2].slice(m[2].lastIndexOf('/') + 1) || m[2]}` : ''
  const how = /explicit deny/.test(m[3] ?? '') ? ' (an explicit Deny)' : ''
  return `your IAM policy does not allow ${m[1]}${resource}${how} — see \`ssm-ssh policy\``
}
