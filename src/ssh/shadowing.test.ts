import { describe, expect, it } from 'vitest'
import { sendsElsewhere } from './shadowing.ts'

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
