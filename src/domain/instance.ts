// A managed instance as ssm-ssh sees it, whatever API it came from.

export interface Instance {
  id: string
  /** Name tag (EC2 Name tag for i-, SSM Name tag for mi-), else the SSM Name */
  name: string
  computerName: string
  ipAddress: string
  pingStatus: string
  lastPing?: Date
  platform: string
  agentVersion: string
  resourceType: string
  tags: Record<string, string>
}

/** An instance known only by its id (not in the listing yet): assumed online, AWS will say if not. */
export function instanceById(id: string): Instance {
  return {
    id,
    name: id,
    computerName: '',
    ipAddress: '',
    pingStatus: 'Online',
    platform: '',
    agentVersion: '',
    resourceType: '',
    tags: {},
  }
}
