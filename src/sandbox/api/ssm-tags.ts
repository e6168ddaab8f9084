// SSM tags on hybrid nodes and parameters: ListTagsForResource / AddTagsToResource — aws-api-notes.md §2.10.
import type { SandboxState, SimInstance } from '../model.ts'
import { awsError } from './errors.ts'
import { checkParameterName } from './ssm-parameters.ts'
import { tagMap } from './tag-list.ts'
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
const MAX_TAGS = 50

/** The tagged resource: a hybrid node (ManagedInstance) or a Parameter Store parameter (by name). */
function taggedResource(state: SandboxState, body: Body): { tags: Map<string, string> } {
  new Checker(body)
    .required('ResourceType')
    .required('ResourceId')
    .oneOf('ResourceType', resourceTypes)
    .done()
  if (body.ResourceType === 'Parameter') {
    const name = String(body.ResourceId)
    checkParameterName(name)
    const parameter = state.parameters.get(name)
    if (!parameter) throw awsError('InvalidResourceId')
    return parameter
  }
  if (body.ResourceType !== 'ManagedInstance') throw awsError('InvalidResourceType')
  const instance: SimInstance | undefined = state.instances.get(body.ResourceId as string)
  // ManagedInstance is for hybrid nodes only; EC2 instances carry EC2 tags (§2.10)
  if (!instance) throw awsError('InvalidResourceId')
  if (instance.kind !== 'hybrid') throw awsError('InvalidResourceType')
  return instance
}

export function listTagsForResource(state: SandboxState, body: Body) {
  const resource = taggedResource(state, body)
  return { TagList: [...resource.tags].map(([Key, Value]) => ({ Key, Value })) }
}

export function addTagsToResource(state: SandboxState, body: Body) {
  new Checker(body).required('Tags').done()
  const resource = taggedResource(state, body)
  const merged = tagMap(body.Tags, new Map(resource.tags))
  if (merged.size > MAX_TAGS) throw awsError('TooManyTagsError')
  resource.tags = merged
  return {}
}
