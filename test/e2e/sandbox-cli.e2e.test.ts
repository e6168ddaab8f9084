// `ssm-ssh sandbox` as a user runs it: one JSON line on stdout, then the AWS SDK works against it,
// and SIGTERM stops it. `ssm-ssh demo` without a terminal lists the fleet and runs a real ssh.
import { spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { DescribeInstanceInformationCommand, SSMClient } from '@aws-sdk/client-ssm'
import { execa } from 'execa'
import { describe, expect, it } from 'vitest'
import { cleanEnv, cli } from '../helpers/e2e.ts'

describe('ssm-ssh sandbox', () => {
  it('prints its endpoint and credentials as one JSON line, serves the SDK, stops on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ssm-ssh-sbx-'))
    const child = spawn(process.execPath, [cli, 'sandbox', '--fleet', '60', '--seed', '3'], {
      env: cleanEnv(dir),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const first = await new Promise<string>((resolve) =>
      createInterface({ input: child.stdout }).once('line', resolve),
    )
    const info = JSON.parse(first) as {
      endpoint: string
      region: string
      accessKeyId: string
      secretAccessKey: string
    }
    expect(Object.keys(info)).toEqual(['endpoint', 'region', 'accessKeyId', 'secretAccessKey'])
    expect(info.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const ssm = new SSMClient({ endpoint: info.endpoint, region: info.region, credentials: info })
    let count = 0
    let token: string | undefined
    do {
      const page = await ssm.send(
        new DescribeInstanceInformationCommand({ MaxResults: 50, NextToken: token }),
      )
      count += page.InstanceInformationList?.length ?? 0
      token = page.NextToken
    } while (token)
    expect(count).toBe(60)
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
    child.kill('SIGTERM')
    expect(await exited).toBe(0)
  })

  it('rejects bad flags with exit 2 and a hint', async () => {
    const r = await execa(process.execPath, [cli, 'sandbox', '--faults', 'drop=2'], { reject: false })
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toMatch(/^ssm-ssh: --faults: drop=2 is not a probability\n {2}hint: /)
  })
})

describe('ssm-ssh demo', () => {
  it('without a terminal: lists the fleet and runs one real ssh command through the sandbox', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ssm-ssh-demo-'))
    const r = await execa(process.execPath, [cli, 'demo'], {
      env: cleanEnv(dir),
      reject: false,
      stdin: 'ignore',
    })
    expect(r.exitCode).toBe(0)
    expect(r.stderr).toMatch(/pi-kitchen\s+mi-[0-9a-f]{17}\s+Online/)
    expect(r.stderr).toMatch(/pi-clone \(clone\)/)
    expect(r.stdout).toMatch(/^hello from pi on a simulated Pi: /)
  })
})
