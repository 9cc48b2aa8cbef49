// MailCloud in Azure: storage (the source of truth), the functions app (isolated worker on Flex Consumption),
// the SMTP/IMAP/POP3 front ends on Container Apps with TCP ingress, Key Vault for TLS and DKIM keys,
// one user-assigned managed identity with data-plane roles, and monitoring.
// The Bicep CLI cannot be installed in this workplace, so these files are not compiled in CI: keep them small.
targetScope = 'resourceGroup'

@description('Short name used as a prefix for every resource (3-11 lower-case letters and digits).')
@minLength(3)
@maxLength(11)
param name string = 'mailcloud'

param location string = resourceGroup().location

@description('Container images of the front ends (built from protocol-hosts/).')
param smtpImage string = ''
param imapImage string = ''
param pop3Image string = ''
param webImage string = ''
@description('SHA-256 of the admin API token (./mailcloud admin-token); empty keeps the admin API off.')
param adminTokenSha256 string = ''

@description('Mail host name clients and MX records point at (used for TLS and HELO).')
param mailHostName string

var suffix = uniqueString(resourceGroup().id)

module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: {
    name: '${name}-id-${suffix}'
    location: location
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    name: '${name}-${suffix}'
    location: location
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    accountName: take('${name}${suffix}', 24)
    location: location
    principalId: identity.outputs.principalId
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    name: take('${name}-kv-${suffix}', 24)
    location: location
    principalId: identity.outputs.principalId
  }
}

module functions 'modules/functions.bicep' = {
  name: 'functions'
  params: {
    name: '${name}-fn-${suffix}'
    location: location
    storageAccountName: storage.outputs.accountName
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    appInsightsConnectionString: monitoring.outputs.appInsightsConnectionString
    keyVaultUri: keyVault.outputs.uri
  }
}

module frontEnds 'modules/containerapps.bicep' = if (!empty(smtpImage)) {
  name: 'frontends'
  params: {
    name: '${name}-${suffix}'
    location: location
    logAnalyticsWorkspaceId: monitoring.outputs.workspaceId
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.accountName
    keyVaultUri: keyVault.outputs.uri
    mailHostName: mailHostName
    smtpImage: smtpImage
    imapImage: imapImage
    pop3Image: pop3Image
    webImage: webImage
    adminTokenSha256: adminTokenSha256
  }
}

output storageAccount string = storage.outputs.accountName
output functionApp string = functions.outputs.name
output keyVault string = keyVault.outputs.name
