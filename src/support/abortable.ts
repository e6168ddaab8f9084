// Waiting that a signal (Ctrl-C, ssh's SIGHUP) ends at once: name resolution, a key push and the like
// used to run on after the signal, and the session opened anyway.
import { CancelledError } from './errors.ts'

export function abortable<T>(signal: AbortSignal, work: Promise<T>): Promise<T> {
  if (signal.aborted) {
    work.catch(() => {})
    return Promise.reject(new CancelledError('interrupted'))
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new CancelledError('interrupted'))
    signal.addEventListener('abort', onAbort, { once: true })
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}
