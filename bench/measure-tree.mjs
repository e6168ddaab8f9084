// Runs a command and samples its whole process tree from /proc every 10 ms: peak resident memory
// (sum over the tree) and CPU seconds (user + system, summed over every process seen).
// Usage: node measure-tree.mjs OUT.json [--group] -- command args…   (stdio passes straight through)
// --group: the command runs in a process group of its own and a signal goes to the whole group, as a
// terminal's Ctrl-C does (the AWS CLI ignores SIGINT while its session-manager-plugin child runs).
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'

const [out, ...rest] = process.argv.slice(2)
const group = rest[0] === '--group'
const [sep, cmd, ...args] = group ? rest.slice(1) : rest
if (!out || sep !== '--' || !cmd) {
  process.stderr.write('usage: node measure-tree.mjs OUT.json [--group] -- command args…\n')
  process.exit(2)
}
const ticks = 100 // USER_HZ on Linux
const cpu = new Map()
let peakKiB = 0

function stat(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
    return { ppid: Number(fields[1]), cpu: (Number(fields[11]) + Number(fields[12])) / ticks }
  } catch {
    return undefined
  }
}

function rssKiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) : 0
  } catch {
    return 0
  }
}

const child = spawn(cmd, args, { stdio: 'inherit', detached: group })
function sample() {
  const parents = new Map()
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const s = stat(name)
    if (s) parents.set(Number(name), s)
  }
  const tree = new Set([child.pid])
  let grew = true
  while (grew) {
    grew = false
    for (const [pid, s] of parents) {
      if (!tree.has(pid) && tree.has(s.ppid)) {
        tree.add(pid)
        grew = true
      }
    }
  }
  let rss = 0
  for (const pid of tree) {
    const s = parents.get(pid)
    if (!s) continue
    cpu.set(pid, s.cpu)
    rss += rssKiB(pid)
  }
  peakKiB = Math.max(peakKiB, rss)
}
const timer = setInterval(sample, 10)
// ssh ends its ProxyCommand with SIGHUP/SIGTERM: pass it on and still write the figures.
for (const sig of ['SIGHUP', 'SIGTERM', 'SIGINT'])
  process.on(sig, () => (group ? process.kill(-child.pid, sig) : child.kill(sig)))
child.on('exit', (code, signal) => {
  clearInterval(timer)
  const cpuSeconds = [...cpu.values()].reduce((a, b) => a + b, 0)
  writeFileSync(out, JSON.stringify({ peakRssKiB: peakKiB, cpuSeconds }))
  process.exit(code ?? (signal ? 128 : 1))
})
