// See ssm.ts: named re-exports keep the bundle to what is used.
export {
  GetResourcesCommand,
  ResourceGroupsTaggingAPIClient,
} from '@aws-sdk/client-resource-groups-tagging-api'
