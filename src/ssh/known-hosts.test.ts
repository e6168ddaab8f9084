import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { knownHostsPath, pinHostKeys } from './known-hosts.ts'

describe('ssm-ssh known_hosts', () => {
  it('4 pushes pinning at once keep all 4 hosts (unlocked, one was lost)', async () => {
    const sshDir = mkdtempSync(join(tmpdir(), 'ssm-ssh-kh-'))
    const ids = [
      'mi-00000000000000001',
      'mi-00000000000000002',
      'mi-00000000000000003',
      'mi-00000000000000004',
    ]
    const results = await Promise.all(
      ids.map((id, n) => pinHostKeys(sshDir, id, [`ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${n}`])),
    )
    expect(results.map((r) => r.added)).toEqual([1, 1, 1, 1])
    const lines = readFileSync(knownHostsPath(sshDir), 'utf8').trim().split('\n')
    expect(lines.map((l) => l.split(' ')[0]).sort()).toEqual(ids)
  })
})
