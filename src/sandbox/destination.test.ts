import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testState } from './api/test-server.ts'
import { destinationOf, dialDestination, vpcReservedAddresses } from './destination.ts'
import { startHosts } from './hosts/index.ts'
import type { SandboxState, SimSession } from './model.ts'

describe('the simulated agent’s destination (port.go validateParameters, DialCall)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ssm-ssh-destination-'))
  let state: SandboxState
  let close: () => Promise<void>
  const idOf = (name: string) =>
    [...state.instances.values()].find((i) => i.tags.get('Name') === name)?.id as string
  const session = (target: string, parameters: Record<string, string[]>, toRemote = true): SimSession =>
    ({
      target,
      documentName: toRemote
        ? 'AWS-StartPortForwardingSessionToRemoteHost'
        : 'AWS-StartPortForwardingSession',
      parameters,
    }) as SimSession
  beforeAll(async () => {
    state = testState(10, 1, { stateDir: dir })
    close = (await startHosts(state, {})).close
  })
  afterAll(async () => {
    await close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('reserves the first four addresses of the VPC block and its broadcast, as calculateAddress does', () => {
    expect(vpcReservedAddresses('172.31.0.0/16')).toEqual([
      '172.31.0.0',
      '172.31.0.1',
      '172.31.0.2',
      '172.31.0.3',
      '172.31.255.255',
    ])
    expect(vpcReservedAddresses('10.0.4.0/22')).toEqual([
      '10.0.4.0',
      '10.0.4.1',
      '10.0.4.2',
      '10.0.4.3',
      '10.0.7.255',
    ])
    expect(vpcReservedAddresses('not a cidr')).toEqual([])
  })

  it('refuses instance metadata everywhere, and the VPC resolver on EC2 only, naming the host as asked', () => {
    for (const host of ['169.254.169.254', '::ffff:169.254.169.254', 'fd00:ec2::254', '169.254.169.123'])
      expect(destinationOf(state, session(idOf('pi-gateway'), { host: [host], portNumber: ['80'] }))).toEqual(
        {
          ok: false,
          message: `Forwarding to IP address ${host} is forbidden.`,
        },
      )
    expect(
      destinationOf(state, session(idOf('web-1'), { host: ['172.31.0.2'], portNumber: ['53'] })),
    ).toEqual({
      ok: false,
      message: 'Forwarding to IP address 172.31.0.2 is forbidden.',
    })
    // a Pi is no EC2 instance: there is no VPC whose resolver it would reach
    expect(
      destinationOf(state, session(idOf('pi-gateway'), { host: ['172.31.0.2'], portNumber: ['53'] })),
    ).toMatchObject({
      ok: true,
    })
  })

  it('fails a document without a port number before dialling', () => {
    expect(destinationOf(state, session(idOf('pi-kitchen'), { portNumber: [''] }, false))).toEqual({
      ok: false,
      message: 'Port number is empty in session properties.',
    })
  })

  it('resolves a LAN name on the instance and dials each address in turn, keeping the first error', async () => {
    const gateway = idOf('pi-gateway')
    const check = destinationOf(state, session(gateway, { host: ['lab-nas'], portNumber: ['22'] }))
    if (!check.ok) throw new Error(check.message)
    expect(check.destination.addresses).toEqual(['fd20::11', '10.20.0.11'])
    const socket = await dialDestination(state, gateway, check.destination)
    const banner = await new Promise<string>((resolve) =>
      socket.once('data', (d: Buffer) => resolve(d.toString())),
    )
    socket.destroy()
    expect(banner).toMatch(/^SSH-2\.0-/)

    const closed = destinationOf(state, session(gateway, { host: ['lab-nas'], portNumber: ['8080'] }))
    if (!closed.ok) throw new Error(closed.message)
    await expect(dialDestination(state, gateway, closed.destination)).rejects.toThrow(
      'dial tcp [fd20::11]:8080: connect: connection refused',
    )
    // a name the instance cannot resolve: no address to dial
    const unknown = destinationOf(state, session(gateway, { host: ['no-such-host'], portNumber: ['22'] }))
    if (!unknown.ok) throw new Error(unknown.message)
    await expect(dialDestination(state, gateway, unknown.destination)).rejects.toThrow('missing address')
    // another instance does not see the gateway's LAN
    const kitchen = destinationOf(
      state,
      session(idOf('pi-kitchen'), { host: ['10.20.0.10'], portNumber: ['22'] }),
    )
    if (!kitchen.ok) throw new Error(kitchen.message)
    await expect(dialDestination(state, idOf('pi-kitchen'), kitchen.destination)).rejects.toThrow(
      'dial tcp 10.20.0.10:22: connect: connection refused',
    )
  })
})
