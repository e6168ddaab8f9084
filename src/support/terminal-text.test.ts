// Output from the cloud cannot drive the terminal: escape sequences gone, controls shown as '?'.
import { describe, expect, it } from 'vitest'
import { prefixLines, safeLabel, terminalSafe } from './terminal-text.ts'

describe('terminal text', () => {
  it.each([
    ['plain\ttext\n', 'plain\ttext\n'],
    ['\u001b[31mred\u001b[0m', 'red'],
    ['\u001b]0;owned title\u0007after', 'after'],
    ['\u001b]8;;http://evil\u001b\\link\u001b]8;;\u001b\\', 'link'],
    ['\u001bPdevice control\u001b\\x', 'x'],
    ['a\u001b7b\u001bc', 'ab'],
    ['\u009b2Jclear', 'clear'],
    ['bell\u0007 nul\u0000 del\u007f', 'bell? nul? del?'],
    ['progress 10%\rprogress 90%\r\n', 'progress 10%\nprogress 90%\n'],
  ])('%j → %j', (input, expected) => {
    expect(terminalSafe(input)).toBe(expected)
  })

  it('prefixes every line, without an empty last one', () => {
    expect(prefixLines('pi\t', 'a\nb\n')).toBe('pi\ta\npi\tb\n')
    expect(prefixLines('pi\t', 'no newline')).toBe('pi\tno newline\n')
    expect(prefixLines('pi\t', '')).toBe('')
    expect(safeLabel('pi\tkitchen\n\u001b[2J')).toBe('pi kitchen ')
  })
})
