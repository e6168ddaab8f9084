// SSM tags on hybrid nodes: ListTagsForResource / AddTagsToResource — aws-api-notes.md §2.10.
import type { SandboxState, SimInstance } from '../model.ts'
import { awsError } from './errors.ts'
import { type Body, Checker } from './validate.ts'

const resourceTypes = [
  'Document',
  'ManagedInstance',
  'MaintenanceWindow',
  'Parameter',
  'PatchBaseline',
  'OpsItem',
  'OpsMetadata',
  'Automation',
  'Association',
  'CloudConnector',
]
const TAG_TEXT = /^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$/u
const MAX_TAGS = 50

function managedInstance(state: SandboxState, body: Body): SimInstance {
  new Checker(body)
    .required('ResourceType')
    .required('ResourceId')
    .oneOf('ResourceType', resourceTypes)
    .done()
  if (body.ResourceType !== 'ManagedInstance') throw awsError('InvalidResourceType')
  const instance = state.instances.get(body.ResourceId as string)
  // ManagedInstance is for hybrid nodes only; EC2 instances carry EC2 tags (§2.10)
  if (!instance) throw awsError('InvalidResourceId')
  if (instance.kind !== 'hybrid') throw awsError('InvalidResourceType')
  return instance
}

export function listTagsForResource(state: SandboxState, body: Body) {
  const instance = managedInstance(state, body)
  return { TagList: [...instance.tags].map(([Key, Value]) => ({ Key, Value })) }
}

export function addTagsToResource(state: SandboxState, body: Body) {
  new Checker(body).required('Tags').length('Tags', 0, 1000).done()
  const instance = managedInstance(state, body)
  const tags = body.Tags as Array<{ Key?: string; Value?: string }>
  tags.forEach((t, index) => {
    const c = new Checker(t as Body)
    c.required('Key')
      .required('Value')
      .length('Key', 1, 128)
      .length('Value', 0, 256)
      .pattern('Key', TAG_TEXT)
      .pattern('Value', TAG_TEXT)
    void index
    c.done()
  })
  const merged = new Map(instance.tags)
  for (const t of tags) merged.set(t.Key as string, t.Value as string)
  if (merged.size > MAX_TAGS) throw awsError('TooManyTagsError')
  instance.tags = merged
  return {}
}
