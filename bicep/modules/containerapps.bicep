// The SMTP, IMAP and POP3 front ends as Container Apps with TCP ingress (mail is not HTTP).
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

var frontEnds = [
  { app: 'smtp', image: smtpImage, port: 25, extra: [587, 465] }
  { app: 'imap', image: imapImage, port: 143, extra: [993] }
  { app: 'pop3', image: pop3Image, port: 110, extra: [995] }
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
      ingress: {
        external: true
        transport: 'tcp'
        targetPort: fe.port
        exposedPort: fe.port
        additionalPortMappings: [for p in fe.extra: { external: true, targetPort: p, exposedPort: p }]
      }
    }
    template: {
      containers: [
        {
          name: fe.app
          image: fe.image
          resources: { cpu: json('0.25'), memory: '0.5Gi' }
          env: [
            { name: 'MAILCLOUD_STORAGE_ACCOUNT', value: storageAccountName }
            { name: 'MAILCLOUD_KEYVAULT_URI', value: keyVaultUri }
            { name: 'MAILCLOUD_HOSTNAME', value: mailHostName }
            { name: 'AZURE_CLIENT_ID', value: identityClientId }
          ]
        }
      ]
      scale: { minReplicas: 1, maxReplicas: 3 }
    }
  }
}]
