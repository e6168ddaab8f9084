// SendCommand's MaxConcurrency and MaxErrors as the API admits them (aws-api-notes.md §2.7): a count,
// or a percentage of the targets; 1–7 characters.
export const MAX_CONCURRENCY = /^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$/
export const MAX_ERRORS = /^([1-9][0-9]*|[0]|[1-9][0-9]%|[0-9]%|100%)$/
