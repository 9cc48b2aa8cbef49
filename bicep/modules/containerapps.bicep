// The front ends on Container Apps: a workload-profiles environment (Consumption profile) in a VNet, which is what
// external TCP ingress needs, and by default ONE container app serving SMTP, IMAP, POP3 and HTTP from one process
// (protocol-hosts/MailCloud.FrontEnd) with one replica always on. splitFrontEnds runs one app per protocol from the
// same image instead (MAILCLOUD_PROTOCOLS), for large deployments.
param name string
param location string
param logAnalyticsWorkspaceId string
param subnetId string
param identityId string
param identityClientId string
param storageAccountName string
param keyVaultUri string
param mailHostName string
@description('Front-end image; empty runs a placeholder (no probes) until azd deploy sets the real one.')
param image string
@description('Registry the image is pulled from with the managed identity; empty for a public image.')
param registryServer string = ''
@description('Name of the Key Vault certificate the front ends use for TLS (versionless: renewals are picked up).')
param tlsCertificateName string
param splitFrontEnds bool = false
param cpu string = '0.25'
param memory string = '0.5Gi'
param maxReplicas int = 3
@description('Open TCP connections per replica before another replica is added.')
param connectionsPerReplica int = 500
@secure()
param adminTokenSha256 string = ''
@description('Shared key the index function presents on /internal/mailbox-changed (empty: endpoint off).')
@secure()
param pushKey string = ''
@description('Report moves into and out of Junk to the learn queue (rspamd deployed).')
param spamLearning bool = false
@description('Application Insights: the front ends export their metrics there (Azure Monitor exporter).')
@secure()
param appInsightsConnectionString string = ''

var settings = loadJsonContent('../frontend-env.json')
var placeholder = empty(image)

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' existing = {
  name: last(split(logAnalyticsWorkspaceId, '/'))
}

resource env 'Microsoft.App/managedEnvironments@2024-03-01' = {
  name: '${name}-env'
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
      internal: false
    }
    workloadProfiles: [
      { name: 'Consumption', workloadProfileType: 'Consumption' }
    ]
  }
}

// One app serving everything, or one app per protocol.
var apps = splitFrontEnds
  ? [
      { name: 'smtp', protocols: 'smtp', ports: filter(settings.tcpPorts, p => startsWith(p.name, 's')), web: false }
      { name: 'imap', protocols: 'imap', ports: filter(settings.tcpPorts, p => startsWith(p.name, 'imap')), web: false }
      { name: 'pop3', protocols: 'pop3', ports: filter(settings.tcpPorts, p => startsWith(p.name, 'pop3')), web: false }
      { name: 'web', protocols: 'web', ports: [], web: true }
    ]
  : [
      { name: 'mail', protocols: 'smtp,imap,pop3,web', ports: settings.tcpPorts, web: true }
    ]

var deploymentEnv = concat(
  [
    { name: 'MAILCLOUD_STORAGE_ACCOUNT', value: storageAccountName }
    { name: 'MAILCLOUD_KEYVAULT_URI', value: keyVaultUri }
    { name: 'MAILCLOUD_HOSTNAME', value: mailHostName }
    { name: 'AZURE_CLIENT_ID', value: identityClientId }
    { name: 'MAILCLOUD_SPAM_LEARNING', value: string(spamLearning) }
  ],
  empty(adminTokenSha256) ? [] : [{ name: 'MAILCLOUD_ADMIN_TOKEN_SHA256', secretRef: 'admin-token-sha256' }],
  empty(pushKey) ? [] : [{ name: 'MAILCLOUD_PUSH_KEY', secretRef: 'push-key' }],
  empty(appInsightsConnectionString) ? [] : [{ name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', secretRef: 'appinsights' }]
)

// A Key Vault reference without a version: Container Apps fetches the current certificate (its base64 PFX).
var secrets = concat(
  [{ name: 'tls-cert', keyVaultUrl: '${keyVaultUri}secrets/${tlsCertificateName}', identity: identityId }],
  empty(adminTokenSha256) ? [] : [{ name: 'admin-token-sha256', value: adminTokenSha256 }],
  empty(pushKey) ? [] : [{ name: 'push-key', value: pushKey }],
  empty(appInsightsConnectionString) ? [] : [{ name: 'appinsights', value: appInsightsConnectionString }]
)

resource frontEnds 'Microsoft.App/containerApps@2024-03-01' = [
  for app in apps: {
    name: '${name}-${app.name}'
    location: location
    tags: { 'azd-service-name': 'frontend' }
    identity: {
      type: 'UserAssigned'
      userAssignedIdentities: { '${identityId}': {} }
    }
    properties: {
      environmentId: env.id
      workloadProfileName: 'Consumption'
      configuration: {
        secrets: secrets
        registries: empty(registryServer) ? [] : [{ server: registryServer, identity: identityId }]
        // HTTP (web, with managed HTTPS on 443) as the main ingress; mail ports as additional TCP mappings.
        ingress: app.web
          ? {
              external: true
              transport: 'http'
              targetPort: settings.httpPort
              allowInsecure: false
              additionalPortMappings: map(app.ports, p => { external: true, targetPort: p.targetPort, exposedPort: p.exposedPort })
            }
          : {
              external: true
              transport: 'tcp'
              targetPort: app.ports[0].targetPort
              exposedPort: app.ports[0].exposedPort
              additionalPortMappings: map(skip(app.ports, 1), p => { external: true, targetPort: p.targetPort, exposedPort: p.exposedPort })
            }
      }
      template: {
        containers: [
          {
            name: 'frontend'
            image: placeholder ? 'mcr.microsoft.com/k8se/quickstart:latest' : image
            resources: { cpu: json(cpu), memory: memory }
            env: concat(settings.env, deploymentEnv, [{ name: 'MAILCLOUD_PROTOCOLS', value: app.protocols }])
            volumeMounts: [{ volumeName: 'tls', mountPath: '/mnt/tls' }]
            probes: placeholder
              ? []
              : [
                  {
                    type: 'Liveness'
                    tcpSocket: { port: app.web ? settings.httpPort : app.ports[0].targetPort }
                    periodSeconds: 30
                  }
                ]
          }
        ]
        volumes: [
          { name: 'tls', storageType: 'Secret', secrets: [{ secretRef: 'tls-cert', path: 'tls.pfx' }] }
        ]
        scale: {
          minReplicas: 1 // an MX must answer at all times
          maxReplicas: maxReplicas
          rules: [
            { name: 'connections', tcp: { metadata: { concurrentConnections: string(connectionsPerReplica) } } }
          ]
        }
      }
    }
  }
]

@description('Public address of the environment: the A record of the mail host (and so the MX target).')
output inboundIp string = env.properties.staticIp
@description('Addresses mail leaves from: publish them in SPF and ask for the PTR record of each.')
output outboundIps array = frontEnds[0].properties.outboundIpAddresses
output fqdn string = frontEnds[0].properties.configuration.ingress.fqdn
