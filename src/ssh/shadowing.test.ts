import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { sendsElsewhere, shadowedAliases } from './shadowing.ts'

describe('sendsElsewhere (ssh -G output)', () => {
  it.each([
    ['hostname pi-kitchen\nport 22\nproxycommand none\n', false],
    ['hostname PI-KITCHEN\nport 22\n', false],
    ['hostname build.example\nport 22\n', true],
    ['hostname pi-kitchen\nproxycommand corp-proxy %h\n', true],
    ['hostname pi-kitchen\nproxyjump bastion\n', true],
  ])('%j → %s', (out, elsewhere) => {
    expect(sendsElsewhere('pi-kitchen', out)).toBe(elsewhere)
  })
})

describe('shadowedAliases (real ssh -G)', () => {
  const home = mkdtempSync(join(tmpdir(), 'ssm-ssh-shadow-home-'))
  mkdirSync(join(home, '.ssh'), { mode: 0o700 })
  writeFileSync(join(home, '.ssh', 'lab'), 'Host lab-*\n  ProxyJump bastion\n')
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home }
  const aliases = [...Array.from({ length: 40 }, (_, i) => `pi-${i}`), 'pi-kitchen', 'lab-printer', 'web-1']
  const shadowed = async (config: string) => {
    const checked = { runs: 0 }
    const set = await shadowedAliases(aliases, config, { env, checked })
    return { names: [...set].sort(), runs: checked.runs }
  }

  it('asks ssh -G once for the names no pattern mentions, once each for the others', async () => {
    // pi-kitchen by a wildcard, lab-* through an Include, web-1 by a negation: each asked; the 40 not
    const r = await shadowed(
      'Host pi-kit*\n  HostName build.example\nHost * !web-1\n  User me\nInclude lab\n',
    )
    expect(r.names).toEqual(['lab-printer', 'pi-kitchen'])
    expect(r.runs).toBe(4)
  })

  it('a Host * that sends every name elsewhere shadows them all, from one run', async () => {
    const r = await shadowed('Host *\n  ProxyJump bastion\n')
    expect(r.names).toEqual([...aliases].sort())
    expect(r.runs).toBe(1)
  })

  it('a Match decides on more than the name: every name is asked, with the same answer as before', async () => {
    const r = await shadowed('Match originalhost pi-3?\n  HostName elsewhere.example\n')
    expect(r.names).toEqual(Array.from({ length: 10 }, (_, i) => `pi-3${i}`).sort())
    expect(r.runs).toBe(aliases.length)
  })
})
