import { describe, expect, it } from 'vitest'
import { instanceById } from '../instance.ts'
import {
  addSighting,
  alternates,
  cloneFindings,
  cloneIds,
  hostKeyFindings,
  SIGHTINGS_KEPT,
} from './clones.ts'

const A = { computerName: 'pi-kitchen', ipAddress: '192.168.1.23' }
const B = { computerName: 'pi-kitchen', ipAddress: '192.168.1.57' }
const C = { computerName: 'pi-kitchen', ipAddress: '192.168.1.80' }
const pi = (id: string, computerName: string, ipAddress = '192.168.1.23') => ({
  ...instanceById(id),
  name: 'pi-kitchen',
  computerName,
  ipAddress,
})

describe('clones', () => {
  it('sightings: a repeat of the last is not a new one; only the last few are kept', () => {
    expect(addSighting(addSighting([], A), A)).toEqual([A])
    let h = [A]
    for (let n = 0; n < 20; n++) h = addSighting(h, n % 2 ? A : B)
    expect(h.length).toBe(SIGHTINGS_KEPT)
  })

  it('alternating (A, B, A) is two machines; a change that stays (A, B, C) is a new lease or a rename', () => {
    expect(alternates([A, B, A])).toBe(true)
    expect(alternates([A, B, C])).toBe(false)
    expect(alternates([A, B])).toBe(false)
  })

  it('two ids with one name and ComputerName are copies; an empty ComputerName matches nothing', () => {
    const one = pi('mi-00000000000000001', 'pi-kitchen')
    const two = pi('mi-00000000000000002', 'pi-kitchen')
    const blank = [pi('mi-00000000000000003', ''), pi('mi-00000000000000004', '')]
    expect([...cloneIds([one, two, ...blank])]).toEqual([one.id, two.id])
    expect(cloneFindings(one, [one, two], [])[0]).toMatchObject({ check: 'clone', level: 'warn' })
  })

  it('the machine that answered is not the one last heard: both name and address → fail with reactivate', () => {
    const i = pi('mi-00000000000000001', 'pi-kitchen-copy', '192.168.1.201')
    const [f] = cloneFindings(i, [i], [], {
      hostname: 'pi-kitchen',
      addresses: ['127.0.0.1', '192.168.1.23'],
    })
    expect(f).toMatchObject({ level: 'fail', fix: expect.stringMatching(/^ssm-ssh reactivate pi-kitchen /) })
    // an FQDN ComputerName against a short hostname is the same machine
    const same = pi('mi-00000000000000001', 'pi-kitchen.lan', '192.168.1.23')
    expect(cloneFindings(same, [same], [], { hostname: 'pi-kitchen', addresses: ['192.168.1.23'] })).toEqual([
      expect.objectContaining({ level: 'ok' }),
    ])
  })

  it('a host key other than the pinned one fails; a key type we never pinned does not', () => {
    const pinned = new Map([['ssh-ed25519', 'SHA256:old']])
    expect(
      hostKeyFindings('mi-1', 'pi', pinned, new Map([['ssh-ed25519', 'SHA256:new']]), '/kh')[0],
    ).toMatchObject({
      level: 'fail',
      fix: expect.stringContaining('ssh-keygen -R mi-1 -f /kh'),
    })
    expect(hostKeyFindings('mi-1', 'pi', pinned, new Map([['ssh-rsa', 'SHA256:x']]), '/kh')[0]?.level).toBe(
      'ok',
    )
  })
})
