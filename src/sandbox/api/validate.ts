// Server-side validation: the SDK v3 validates nothing, so the sandbox enforces every
// min/max/pattern/required rule with AWS's wording (aws-api-notes.md §1.6).
import { Violations } from './errors.ts'

export type Body = Record<string, unknown>

/** Lower-camel member path as Coral prints it: MaxResults → maxResults. */
export const memberPath = (name: string) => name.charAt(0).toLowerCase() + name.slice(1)

export class Checker {
  readonly v = new Violations()
  constructor(private readonly body: Body) {}
  required(name: string): this {
    if (this.body[name] === undefined || this.body[name] === null) this.v.add(undefined, memberPath(name), '')
    return this
  }
  range(name: string, min: number, max: number): this {
    const value = this.body[name]
    if (value === undefined) return this
    if (typeof value !== 'number' || value < min)
      this.v.add(value, memberPath(name), `Member must have value greater than or equal to ${min}`)
    else if (value > max)
      this.v.add(value, memberPath(name), `Member must have value less than or equal to ${max}`)
    return this
  }
  length(name: string, min: number, max: number): this {
    const value = this.body[name]
    if (value === undefined) return this
    const n = typeof value === 'string' || Array.isArray(value) ? value.length : -1
    if (n < min)
      this.v.add(value, memberPath(name), `Member must have length greater than or equal to ${min}`)
    else if (n > max)
      this.v.add(value, memberPath(name), `Member must have length less than or equal to ${max}`)
    return this
  }
  pattern(name: string, re: RegExp): this {
    const value = this.body[name]
    if (value === undefined) return this
    if (typeof value !== 'string' || !re.test(value))
      this.v.add(value, memberPath(name), `Member must satisfy regular expression pattern: ${re.source}`)
    return this
  }
  oneOf(name: string, values: string[]): this {
    const value = this.body[name]
    if (value === undefined) return this
    if (typeof value !== 'string' || !values.includes(value))
      this.v.add(value, memberPath(name), `Member must satisfy enum value set: [${values.join(', ')}]`)
    return this
  }
  done(code?: string, status?: number): void {
    this.v.throwIfAny(code, status)
  }
}

export const INSTANCE_ID = /(^i-(\w{8}|\w{17})$)|(^mi-\w{17}$)/
