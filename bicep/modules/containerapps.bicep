// The SMTP, IMAP and POP3 front ends as Container Apps with TCP ingress (mail is not HTTP), and the web front end
// (health, client autoconfiguration) with HTTP ingress.
// TCP ingress needs a VNet-integrated environment; the environment below is created without one and must be
// given infrastructureSubnetId for production use (documented in README).
param name string
param location string
param logAnalyticsWorkspaceId string
param identityId string
param identityClientId string
param storageAccountName string
param keyVaultUri string
param mailHostName string
param smtpImage string
param imapImage string
param pop3Image string
param webImage string = ''
@description('SHA-256 of the admin API token (./mailcloud admin-token); empty keeps the admin API off.')
param adminTokenSha256 string = ''

resource env 'Microsoft.App/managedEnvironments@2024-03-01' = {
  name: '${name}-env'
  location: location
  properties: {
    appLogsConfiguration: {
      destination: 'log-analytics'
      logAnalyticsConfiguration: {
        customerId: reference(logAnalyticsWorkspaceId, '2023-09-01').customerId
        sharedKey: listKeys(logAnalyticsWorkspaceId, '2023-09-01').primarySharedKey
      }
    }
  }
}

// The processes listen on the standard ports on all interfaces (their local defaults are high ports on loopback).
var publicPorts = [
  { name: 'MAILCLOUD_BIND', value: '0.0.0.0' }
  { name: 'MAILCLOUD_SMTP_PORT', value: '25' }
  { name: 'MAILCLOUD_SUBMISSION_PORT', value: '587' }
  { name: 'MAILCLOUD_SUBMISSIONS_PORT', value: '465' }
  { name: 'MAILCLOUD_IMAP_PORT', value: '143' }
  { name: 'MAILCLOUD_IMAPS_PORT', value: '993' }
  { name: 'MAILCLOUD_POP3_PORT', value: '110' }
  { name: 'MAILCLOUD_POP3S_PORT', value: '995' }
  { name: 'MAILCLOUD_WEB_PORT', value: '8080' }
  { name: 'MAILCLOUD_ADMIN_TOKEN_SHA256', value: adminTokenSha256 }
]

var frontEnds = [
  { app: 'smtp', image: smtpImage, port: 25, extra: [587, 465], transport: 'tcp' }
  { app: 'imap', image: imapImage, port: 143, extra: [993], transport: 'tcp' }
  { app: 'pop3', image: pop3Image, port: 110, extra: [995], transport: 'tcp' }
  { app: 'web', image: webImage, port: 8080, extra: [], transport: 'http' }
]

resource apps 'Microsoft.App/containerApps@2024-03-01' = [for fe in frontEnds: if (!empty(fe.image)) {
  name: '${name}-${fe.app}'
  location: location
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    managedEnvironmentId: env.id
    configuration: {
      ingress: fe.transport == 'tcp' ? {
        external: true
        transport: 'tcp'
        targetPort: fe.port
        exposedPort: fe.port
        additionalPortMappings: [for p in fe.extra: { external: true, targetPort: p, exposedPort: p }]
      } : {
        external: true
        transport: 'http'
        targetPort: fe.port
      }
    }
    template: {
      containers: [
        {
          name: fe.app
          image: fe.image
          resources: { cpu: json('0.25'), memory: '0.5Gi' }
          env: concat([
            { name: 'MAILCLOUD_STORAGE_ACCOUNT', value: storageAccountName }
            { name: 'MAILCLOUD_KEYVAULT_URI', value: keyVaultUri }
            { name: 'MAILCLOUD_HOSTNAME', value: mailHostName }
            { name: 'AZURE_CLIENT_ID', value: identityClientId }
          ], publicPorts)
        }
      ]
      scale: { minReplicas: 1, maxReplicas: 3 }
    }
  }
}]
