import { execFileSync } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import SSHConfig from 'ssh-config'
import { describe, expect, it } from 'vitest'
import { writeFileAtomic } from '../../support/atomic-file.ts'
import type { Instance } from '../instance.ts'
import { addInclude, hasInclude, removeBlock, removeInclude, replaceBlock } from './include.ts'
import { quoteConfigArg, quoteProxyArg, sanitizeAlias } from './sanitize.ts'
import { proxyCommand, renderBlock, type StanzaSettings, stanzaPluginPath } from './stanzas.ts'

const ourFile = '/home/u/.ssh/ssm-ssh/config'

// Lines a user's config may hold: comments, CRLF or LF, tabs, Match, Include, odd quoting, Host i-*
const line = fc.constantFrom(
  '# a comment',
  'Host *',
  'Host i-* mi-*',
  '\tUser me',
  '  IdentityFile "~/.ssh/my key"',
  'Match host *.internal exec "test -f /tmp/x"',
  'Include ~/.ssh/other/*',
  'HostName=10.0.0.1',
  '   ',
  '',
  'ProxyCommand ssh -W %h:%p jump',
  'Host "quoted name"',
)
const userConfig = fc
  .tuple(fc.array(line, { maxLength: 12 }), fc.constantFrom('\n', '\r\n'), fc.boolean())
  .map(([lines, eol, trailing]) => lines.join(eol) + (trailing && lines.length > 0 ? eol : ''))

describe('the Include line in the user’s config', () => {
  it('config → config → remove leaves the user’s bytes identical (1000 generated configs)', () => {
    fc.assert(
      fc.property(userConfig, (text) => {
        const once = addInclude(text, ourFile)
        expect(once.endsWith(text)).toBe(true)
        expect(addInclude(once, ourFile)).toBe(once)
        expect(hasInclude(once, ourFile)).toBe(true)
        expect(removeInclude(once, ourFile)).toBe(text)
        // the Include comes before the first Host/Match: ssh applies it globally
        const parsed = SSHConfig.parse(once)
        const firstDirective = parsed.find((l) => 'param' in l && typeof l.param === 'string')
        expect(firstDirective && 'param' in firstDirective ? firstDirective.param : '').toBe('Include')
      }),
      { numRuns: 1000 },
    )
  })

  it('our own file keeps other scopes’ blocks when one is replaced or removed', () => {
    let ours = replaceBlock('', 'profile=a region=x', 'Host a\n')
    ours = replaceBlock(ours, 'profile=b region=y', 'Host b\n')
    const again = replaceBlock(ours, 'profile=a region=x', 'Host a2\n')
    expect(again).toContain('Host a2\n')
    expect(again).toContain('Host b\n')
    expect(again).not.toContain('Host a\n')
    expect(replaceBlock(again, 'profile=a region=x', 'Host a2\n')).toBe(again)
    expect(removeBlock(again, 'profile=a region=x')).not.toContain('Host a2')
  })

  it('a crash between write and rename never leaves a truncated file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ssm-ssh-atomic-'))
    const file = join(dir, 'config')
    writeFileSync(file, 'Host keep\n  User me\n')
    await expect(
      writeFileAtomic(file, 'Host new\n', { beforeRename: () => Promise.reject(new Error('killed')) }),
    ).rejects.toThrow('killed')
    expect(readFileSync(file, 'utf8')).toBe('Host keep\n  User me\n')
  })
})

const hostile = [
  'pi\nProxyCommand touch /tmp/pwned',
  'pi %h %p',
  '$(reboot)',
  '`id`',
  'it\'s "quoted"',
  'ProxyCommand',
  'рі-kitchen', // Cyrillic look-alikes
  'ｐｉ－ｋｉｔｃｈｅｎ', // full-width
  'x'.repeat(10_000),
  '   ',
]

/** An Online instance with just an id, a name and tags. */
const named = (id: string, name: string, tags: Record<string, string> = {}): Instance => ({
  id,
  name,
  computerName: 'x',
  ipAddress: '',
  pingStatus: 'Online',
  platform: '',
  agentVersion: '',
  resourceType: '',
  tags,
})

describe('hostile names and tags', () => {
  const settings: StanzaSettings = {
    executable: { node: '/usr/bin/node', script: '/opt/my tools/ssm-ssh.mjs' },
    aliasFormat: '{name}',
    templates: {
      wildcard: 'Host i-* mi-*\n  ProxyCommand {{proxyCommand}}\n',
      host: 'Host {{alias}}\n  HostName {{hostname}}\n  HostKeyAlias {{hostKeyAlias}}\n{{extra}}  ProxyCommand {{proxyCommand}}\n',
    },
  }
  const instances: Instance[] = hostile.map((name, n) =>
    named(`mi-${n.toString(16).padStart(17, '0')}`, name, { 'ssm-ssh:user': name }),
  )

  it('never reach the file unsanitised', () => {
    const { text } = renderBlock(instances, [], settings)
    for (const l of text.split('\n').filter(Boolean)) {
      expect(l).toMatch(
        /^(Host [A-Za-z0-9._ *-]+| {2}(HostName|HostKeyAlias) (i|mi)-[0-9a-f]+| {2}User [a-z_][a-z0-9_-]*| {2}ProxyCommand .*)$/,
      )
    }
    // words of a hostile name may survive as a harmless alias; no metacharacter does, and every
    // ProxyCommand is exactly ours
    const ours = (l: string) => l.startsWith('  ProxyCommand ')
    expect(
      text
        .split('\n')
        .filter((l) => !ours(l))
        .join('\n'),
    ).not.toMatch(/[`$()';]/)
    const proxies = text.split('\n').filter((l) => l.includes('ProxyCommand '))
    expect(new Set(proxies)).toEqual(
      new Set([
        "  ProxyCommand /usr/bin/node '/opt/my tools/ssm-ssh.mjs' proxy %h %p",
        "  ProxyCommand /usr/bin/node '/opt/my tools/ssm-ssh.mjs' proxy --strip-suffix .ssm %h %p",
      ]),
    )
    expect(text.split('\n').every((l) => l.length < 300)).toBe(true)
  })

  it.each([
    ['pi-kitchen', 'pi-kitchen'],
    ['Pi Kitchen #2', 'Pi-Kitchen-2'],
    ['рі-kitchen', 'kitchen'],
    ['ｐｉ－ｋｉｔｃｈｅｎ', 'pi-kitchen'],
    ['café', 'cafe'],
    ['%h', 'h'],
  ])('alias of %j is %j', (name, alias) => {
    expect(sanitizeAlias(name)).toBe(alias)
  })

  it('quotes paths with spaces and doubles %', () => {
    expect(quoteConfigArg('/opt/a b/x%y')).toBe('"/opt/a b/x%%y"')
    expect(() => quoteConfigArg('a"b')).toThrow()
  })
})

describe('ProxyCommand values are quoted for /bin/sh, not for ssh_config', () => {
  // ssh expands %-tokens (%% → %), then runs `/bin/sh -c "exec <ProxyCommand>"`: do exactly that
  // with a launcher that prints its argv, and check every word arrives as written and nothing ran.
  it('$(…), backquotes, quotes, spaces and % in the install path, --profile and --region do not run', () => {
    const dir = mkdtempSync(join(tmpdir(), "ssm ssh $(touch pwned) 'q' %d-"))
    const script = join(dir, 'argv.sh')
    writeFileSync(script, '#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\n')
    chmodSync(script, 0o755)
    const canary = join(tmpdir(), `ssm-ssh-pwned-${process.pid}`)
    const profile = `p$(touch ${canary})\`touch ${canary}\`'"x`
    const region = 'eu-west-1; touch /tmp/x %n'
    const line = proxyCommand({
      executable: { node: '/bin/sh', script },
      profile,
      region,
      aliasFormat: '{name}',
      templates: { wildcard: '', host: '' },
    })
    const expanded = line.replace(/%(%|h|p)/g, (_, t: string) =>
      t === '%' ? '%' : t === 'h' ? 'mi-0' : '22',
    )
    const argv = execFileSync('/bin/sh', ['-c', `exec ${expanded}`], { encoding: 'utf8' }).split('\n')
    expect(argv.slice(0, -1)).toEqual(['proxy', '--profile', profile, '--region', region, 'mi-0', '22'])
    expect(existsSync(canary)).toBe(false)
    expect(existsSync(join(tmpdir(), 'pwned'))).toBe(false)
    expect(() => quoteProxyArg('a\nb')).toThrow('cannot put')
  })

  it('--transport plugin: the plugin path goes into the line, runs as one word, and doctor reads it back', () => {
    const dir = mkdtempSync(join(tmpdir(), "ssm ssh $(touch pwned) 'q' %d-"))
    const script = join(dir, 'argv.sh')
    writeFileSync(script, '#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\n')
    chmodSync(script, 0o755)
    const pluginPath = join(dir, "it's %h plugin")
    const settings = {
      executable: { node: '/bin/sh', script },
      aliasFormat: '{name}',
      templates: { wildcard: '', host: '' },
    }
    const line = proxyCommand({ ...settings, plugin: { path: pluginPath } })
    const expanded = line.replace(/%(%|h|p)/g, (_, t: string) =>
      t === '%' ? '%' : t === 'h' ? 'mi-0' : '22',
    )
    const argv = execFileSync('/bin/sh', ['-c', `exec ${expanded}`], { encoding: 'utf8' }).split('\n')
    expect(argv.slice(0, -1)).toEqual([
      'proxy',
      '--transport',
      'plugin',
      '--plugin',
      pluginPath,
      'mi-0',
      '22',
    ])
    expect(stanzaPluginPath(`Host x\n  ProxyCommand ${line}\n`)).toBe(pluginPath)
    // found on PATH: no --plugin; a hop through a jump stays native (the plugin cannot carry --via)
    expect(proxyCommand({ ...settings, plugin: {} })).toMatch(/ proxy --transport plugin %h %p$/)
    expect(stanzaPluginPath(proxyCommand({ ...settings, plugin: {} }))).toBeUndefined()
    expect(proxyCommand({ ...settings, plugin: {} }, 'mi-0123456789abcdef0')).not.toContain('--transport')
  })
})

describe('a Name tag with a dot is no alias unless asked (an instance tagged gitlab.com captured ssh gitlab.com)', () => {
  const settings: StanzaSettings = {
    executable: { node: '/usr/bin/node', script: '/opt/ssm-ssh.mjs' },
    aliasFormat: '{name}',
    templates: { wildcard: '', host: 'Host {{alias}}\n' },
  }
  const fleet = [named('mi-00000000000000001', 'gitlab.com'), named('mi-00000000000000002', 'pi-kitchen')]

  it('refused and reported by default; taken with allowDots; a dotted alias format is a request', () => {
    const plain = renderBlock(fleet, [], settings)
    expect(plain.text).not.toContain('Host gitlab.com')
    expect(plain.text).toContain('Host pi-kitchen')
    expect(plain.report.refused).toEqual([
      { id: 'mi-00000000000000001', alias: 'gitlab.com', reason: 'dotted' },
    ])
    expect(renderBlock(fleet, [], { ...settings, allowDots: true }).text).toContain('Host gitlab.com')
    expect(renderBlock(fleet, [], { ...settings, aliasFormat: '{name}.{profile}' }).text).toContain(
      'Host pi-kitchen.default',
    )
  })

  it('aliases the user’s ssh sends elsewhere are reported, not written', () => {
    const r = renderBlock(fleet, [], { ...settings, shadowed: new Set(['pi-kitchen']) })
    expect(r.text).not.toContain('Host pi-kitchen\n')
    expect(r.report.refused).toContainEqual({
      id: 'mi-00000000000000002',
      alias: 'pi-kitchen',
      reason: 'shadows',
    })
  })

  it('writes the connect-time stanza Host *.ssm (or the suffix asked for, or none)', () => {
    expect(renderBlock(fleet, [], settings).text).toContain(
      'Host *.ssm\n  ProxyCommand /usr/bin/node /opt/ssm-ssh.mjs proxy --strip-suffix .ssm %h %p\n',
    )
    expect(renderBlock(fleet, [], { ...settings, suffix: '' }).text).not.toContain('Host *.')
  })
})
