// The SSM Tag list rules (aws-api-notes.md §2.10), shared by AddTagsToResource and the operations
// that take Tags on create (CreateActivation, PutParameter).
import { type Body, Checker } from './validate.ts'

export const TAG_TEXT = /^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$/u

/** Each tag's Key 1–128 and Value 0–256 in the tag character set; later keys win, as Add overwrites. */
export function tagMap(tags: unknown, into = new Map<string, string>()): Map<string, string> {
  const list = (tags ?? []) as Body[]
  new Checker({ Tags: list }).length('Tags', 0, 1000).done()
  for (const t of list) {
    new Checker(t)
      .required('Key')
      .required('Value')
      .length('Key', 1, 128)
      .length('Value', 0, 256)
      .pattern('Key', TAG_TEXT)
      .pattern('Value', TAG_TEXT)
      .done()
    into.set(t.Key as string, t.Value as string)
  }
  return into
}
