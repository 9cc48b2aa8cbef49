// Optional content engines for the inbound stage: rspamd (spam scoring and learning) and clamd (viruses), as
// container apps in an internal Container Apps environment of their own. Internal: no public endpoint; the function
// app reaches them through its VNet integration, by name through a private DNS zone for the environment's domain.
// rspamd's scanner is plain HTTP on port 80 of its app (11333 in the container, the controller's 11334 as a second
// port); clamd is TCP on 3310. Costs (pay-as-you-go consumption prices, one replica always up, mostly idle):
// rspamd 0.5 vCPU/1 GiB about $12 a month, clamd 1.5 vCPU/3 GiB about $35 a month (signatures need ~3 GiB in
// memory; busy all month it would be about $117). Both off by default: the built-in scorer costs nothing.
param name string
param location string
param logAnalyticsWorkspaceId string
param subnetId string
param vnetId string
param rspamd bool
param clamd bool
param rspamdImage string
param clamdImage string

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' existing = {
  name: last(split(logAnalyticsWorkspaceId, '/'))
}

resource env 'Microsoft.App/managedEnvironments@2024-03-01' = {
  name: '${name}-engines'
  location: location
  properties: {
    appLogsConfiguration: {
      destination: 'log-analytics'
      logAnalyticsConfiguration: {
        customerId: workspace.properties.customerId
        sharedKey: workspace.listKeys().primarySharedKey
      }
    }
    vnetConfiguration: {
      infrastructureSubnetId: subnetId
      internal: true
    }
    workloadProfiles: [
      { name: 'Consumption', workloadProfileType: 'Consumption' }
    ]
  }
}

module dns 'engines-dns.bicep' = {
  name: 'engines-dns'
  params: {
    domain: env.properties.defaultDomain
    staticIp: env.properties.staticIp
    vnetId: vnetId
  }
}

resource rspamdApp 'Microsoft.App/containerApps@2024-03-01' = if (rspamd) {
  name: take('${name}-rspamd', 32)
  location: location
  properties: {
    environmentId: env.id
    workloadProfileName: 'Consumption'
    configuration: {
      ingress: {
        external: true // within an internal environment: the VNet, not the internet
        transport: 'http'
        targetPort: 11333
        allowInsecure: true
        additionalPortMappings: [{ external: true, targetPort: 11334, exposedPort: 11334 }]
      }
    }
    template: {
      containers: [
        {
          name: 'rspamd'
          image: rspamdImage
          resources: { cpu: json('0.5'), memory: '1Gi' }
          probes: [{ type: 'Readiness', httpGet: { path: '/ping', port: 11333 } }]
        }
      ]
      scale: { minReplicas: 1, maxReplicas: 3 }
    }
  }
}

resource clamdApp 'Microsoft.App/containerApps@2024-03-01' = if (clamd) {
  name: take('${name}-clamd', 32)
  location: location
  properties: {
    environmentId: env.id
    workloadProfileName: 'Consumption'
    configuration: {
      ingress: {
        external: true
        transport: 'tcp'
        targetPort: 3310
        exposedPort: 3310
      }
    }
    template: {
      containers: [
        {
          name: 'clamd'
          image: clamdImage
          resources: { cpu: json('1.5'), memory: '3Gi' }
          probes: [{ type: 'Readiness', tcpSocket: { port: 3310 }, initialDelaySeconds: 60 }]
        }
      ]
      scale: { minReplicas: 1, maxReplicas: 1 }
    }
  }
}

output rspamdUrl string = rspamd ? 'http://${rspamdApp!.name}.${env.properties.defaultDomain}' : ''
output rspamdControllerUrl string = rspamd ? 'http://${rspamdApp!.name}.${env.properties.defaultDomain}:11334' : ''
output clamd string = clamd ? '${clamdApp!.name}.${env.properties.defaultDomain}:3310' : ''
