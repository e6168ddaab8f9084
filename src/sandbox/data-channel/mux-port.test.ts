import { describe, expect, it, vi } from 'vitest'
import { encodeSmuxFrame, SmuxCommand, SmuxDecoder } from '../../protocol/smux.ts'
import { agentSendsSmuxKeepalive, MuxPort } from './mux-port.ts'

describe('the simulated agent’s smux keepalive', () => {
  it('follows the agent’s releases: always before 3.1.1446.0, never until 3.1.1575.0, then for old clients only', () => {
    expect(agentSendsSmuxKeepalive('3.1.1374.0', '1.2.764.0')).toBe(true)
    expect(agentSendsSmuxKeepalive('3.0.222.0', '1.2.764.0')).toBe(true)
    expect(agentSendsSmuxKeepalive('3.1.1446.0', '1.1.70.0')).toBe(false)
    expect(agentSendsSmuxKeepalive('3.1.1511.0', '1.2.0.0')).toBe(false)
    expect(agentSendsSmuxKeepalive('3.1.1575.0', '1.2.331.0')).toBe(true)
    expect(agentSendsSmuxKeepalive('3.3.1142.0', '1.2.331.0')).toBe(true)
    expect(agentSendsSmuxKeepalive('3.3.1142.0', '1.2.764.0')).toBe(false)
  })

  it('sends a NOP each interval, and closes the session after a timeout in which nothing came', async () => {
    vi.useFakeTimers()
    try {
      const sent: Buffer[] = []
      let dead = 0
      const port = new MuxPort({
        dial: () => Promise.reject(new Error('unused')),
        send: (bytes) => sent.push(bytes),
        flag: () => {},
        pausedAbove: () => false,
        keepalive: { intervalMs: 100, timeoutMs: 300 },
        onDead: () => dead++,
      })
      // a client that sends its own NOPs keeps it up
      const nop = encodeSmuxFrame({ cmd: SmuxCommand.Nop, streamId: 0 })
      for (let i = 0; i < 10; i++) {
        await vi.advanceTimersByTimeAsync(100)
        port.input(nop)
      }
      expect(dead).toBe(0)
      const frames = new SmuxDecoder().push(Buffer.concat(sent))
      expect(frames.length).toBe(10)
      expect(frames.every((f) => f.cmd === SmuxCommand.Nop && f.streamId === 0)).toBe(true)
      // a silent client: gone between one and two timeouts, and no more NOPs after
      await vi.advanceTimersByTimeAsync(600)
      expect(dead).toBe(1)
      const count = sent.length
      await vi.advanceTimersByTimeAsync(1000)
      expect(sent.length).toBe(count)
      expect(dead).toBe(1)
    } finally {
      vi.useRealTimers()
    }
  })

  it('sends nothing unasked where the agent has keepalive off', async () => {
    vi.useFakeTimers()
    try {
      const sent: Buffer[] = []
      const port = new MuxPort({
        dial: () => Promise.reject(new Error('unused')),
        send: (bytes) => sent.push(bytes),
        flag: () => {},
        pausedAbove: () => false,
      })
      await vi.advanceTimersByTimeAsync(120_000)
      expect(sent).toEqual([])
      port.close()
    } finally {
      vi.useRealTimers()
    }
  })
})
