// Key Vault for the TLS certificate of the front ends and the per-domain DKIM keys.
param name string
param location string
param principalId string
@description('Login password of the relay host, kept as the secret relay-password (the functions read it by reference).')
@secure()
param relayPassword string = ''

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  properties: {
    tenantId: subscription().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 30
    enablePurgeProtection: true
  }
}

// Key Vault Secrets Officer: read the TLS certificate (as a secret) and DKIM keys, and store the DKIM key of a domain
// the admin API adds.
var secretsOfficer = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'

resource secretsAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: vault
  name: guid(vault.id, principalId, secretsOfficer)
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', secretsOfficer)
  }
}

resource relaySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(relayPassword)) {
  parent: vault
  name: 'relay-password'
  properties: { value: relayPassword }
}

output name string = vault.name
output uri string = vault.properties.vaultUri
