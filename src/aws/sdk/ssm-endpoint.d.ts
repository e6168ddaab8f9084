// Types for the two modules of SSMClient's endpoint rules that ssm-rpc.ts imports directly (the
// package ships their declarations under dist-types, beside dist-es).
declare module '@aws-sdk/client-ssm/dist-es/endpoint/endpointResolver.js' {
  export { defaultEndpointResolver } from '@aws-sdk/client-ssm/dist-types/endpoint/endpointResolver'
}
declare module '@aws-sdk/client-ssm/dist-es/endpoint/EndpointParameters.js' {
  export { commonParams } from '@aws-sdk/client-ssm/dist-types/endpoint/EndpointParameters'
}
