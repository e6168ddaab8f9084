// Shell completion as bash runs it: the script from `ssm-ssh completion bash`, sourced into a real
// bash, asked what ssm-ssh's completion function offers; names come from the cached fleet only.
import { mkdirSync, symlinkSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { execa } from 'execa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cli, startWorld, type World } from '../helpers/e2e.ts'

describe('ssm-ssh completion', () => {
  let w: World
  let env: NodeJS.ProcessEnv
  beforeAll(async () => {
    w = await startWorld()
    const bin = join(w.dir, 'bin')
    mkdirSync(bin)
    symlinkSync(cli, join(bin, 'ssm-ssh'))
    env = {
      ...w.env,
      PATH: `${bin}:${dirname(process.execPath)}:${w.env.PATH ?? ''}`,
      XDG_CACHE_HOME: join(w.dir, 'cache-completion'),
    }
    // a hostile name in the cache must never be offered as a word
    w.box.state.instances.get(w.idOf('pi-attic'))?.tags.set('Name', 'pi-attic$(touch /tmp/pwned)')
    expect(
      (await execa('ssm-ssh', ['ls', '--refresh'], { env, extendEnv: false, reject: false })).exitCode,
    ).toBe(0)
  })
  afterAll(async () => w.close())

  const complete = async (words: string[]) => {
    const r = await execa(
      'bash',
      [
        '-c',
        `source <(ssm-ssh completion bash) && COMP_WORDS=(${words.map((x) => `'${x}'`).join(' ')}) && COMP_CWORD=${words.length - 1} && _ssm_ssh && printf '%s\\n' "\${COMPREPLY[@]}"`,
      ],
      { env, extendEnv: false, reject: false },
    )
    expect(r.stderr).toBe('')
    return r.stdout.split('\n').filter(Boolean)
  }

  it('completes commands, and ssh targets (user@ kept) from the cached fleet, plain words only', async () => {
    expect(await complete(['ssm-ssh', 'pu'])).toEqual(['push-key'])
    expect(await complete(['ssm-ssh', 'ssh', 'pi-ki'])).toEqual(['pi-kitchen'])
    expect(await complete(['ssm-ssh', 'ssh', 'pi@pi-g'])).toEqual(['pi@pi-garage', 'pi@pi-gateway'])
    expect(await complete(['ssm-ssh', 'ssh', 'pi-att'])).toEqual([])
    expect(await complete(['ssm-ssh', 'forward', w.idOf('web-1').slice(0, 6)])).toContain(w.idOf('web-1'))
    expect(await complete(['ssm-ssh', 'ha'])).toEqual(['harden'])
    expect(await complete(['ssm-ssh', 'harden', 'pi-ki'])).toEqual(['pi-kitchen'])
  })

  it('a Tab costs no API call (the cache only); zsh gets a script of its own; another shell is a usage error', async () => {
    const before = w.box.state.requests.length
    await complete(['ssm-ssh', 'ssh', 'pi'])
    expect(w.box.state.requests.length).toBe(before)
    const zsh = await execa('ssm-ssh', ['completion', 'zsh'], { env, extendEnv: false })
    expect(zsh.stdout).toMatch(/^#compdef ssm-ssh\n/)
    const bad = await execa('ssm-ssh', ['completion', 'fish'], { env, extendEnv: false, reject: false })
    expect(bad.exitCode).toBe(2)
  })
})
