// The functions app: Flex Consumption (pay per execution), runtime dotnet-isolated 10.0 (the isolated-worker app in functions/MailCloud.Functions).
param name string
param location string
param storageAccountName string
param identityId string
param identityClientId string
param appInsightsConnectionString string
@description('Key Vault holding the DKIM private keys the deliver function signs with.')
param keyVaultUri string
param mailHostName string
param relayHost string = ''
param relayUser string = ''
@description('The front end\'s push endpoint for new-mail hints (empty: IMAP IDLE polls only).')
param pushUrl string = ''
@secure()
param pushKey string = ''
@description('Instances kept warm (0: scale to zero when idle; the first message after an idle spell waits for a cold start).')
param alwaysReady int = 0

@description('Subnet for VNet integration (delegated to Microsoft.App/environments); empty for none. Needed to reach the content engines.')
param subnetId string = ''
param rspamdUrl string = ''
param rspamdControllerUrl string = ''
param clamd string = ''
@description('Automatic backup schedule (NCRONTAB with seconds); "off" disables the backup function.')
param backupSchedule string = '0 0 2 * * *'
param backupDaily int = 7
param backupWeekly int = 4

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource deployments 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  name: '${storageAccountName}/default/deployments'
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: '${name}-plan'
  location: location
  kind: 'functionapp'
  sku: { tier: 'FlexConsumption', name: 'FC1' }
  properties: { reserved: true }
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  kind: 'functionapp,linux'
  tags: { 'azd-service-name': 'functions' }
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    virtualNetworkSubnetId: empty(subnetId) ? null : subnetId
    keyVaultReferenceIdentity: identityId
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}deployments'
          authentication: { type: 'UserAssignedIdentity', userAssignedIdentityResourceId: identityId }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: 40
        instanceMemoryMB: 512
        alwaysReady: alwaysReady > 0 ? [{ name: 'function:inbound', instanceCount: alwaysReady }] : []
      }
      runtime: { name: 'dotnet-isolated', version: '10.0' }
    }
    siteConfig: {
      appSettings: [
        { name: 'AzureWebJobsStorage__accountName', value: storageAccountName }
        { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
        { name: 'AzureWebJobsStorage__clientId', value: identityClientId }
        { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: appInsightsConnectionString }
        { name: 'MAILCLOUD_STORAGE_ACCOUNT', value: storageAccountName }
        { name: 'AZURE_CLIENT_ID', value: identityClientId }
        { name: 'MAILCLOUD_KEYVAULT_URI', value: keyVaultUri }
        { name: 'MAILCLOUD_HOSTNAME', value: mailHostName }
        { name: 'MAILCLOUD_RELAY_HOST', value: relayHost }
        { name: 'MAILCLOUD_PUSH_URL', value: pushUrl }
        { name: 'MAILCLOUD_RSPAMD_URL', value: rspamdUrl }
        { name: 'MAILCLOUD_RSPAMD_CONTROLLER_URL', value: rspamdControllerUrl }
        { name: 'MAILCLOUD_CLAMD', value: clamd }
        { name: 'MAILCLOUD_PUSH_KEY', value: empty(pushUrl) ? '' : pushKey }
        { name: 'MAILCLOUD_RELAY_USER', value: relayUser }
        // The timer reads its schedule from this setting; "off" keeps a valid expression and disables the function instead.
        { name: 'MAILCLOUD_BACKUP_SCHEDULE', value: backupSchedule == 'off' ? '0 0 2 * * *' : backupSchedule }
        { name: 'AzureWebJobs.backup.Disabled', value: string(backupSchedule == 'off') }
        { name: 'MAILCLOUD_BACKUP_DAILY', value: string(backupDaily) }
        { name: 'MAILCLOUD_BACKUP_WEEKLY', value: string(backupWeekly) }
        // A Key Vault reference, resolved by the platform with the app's identity: the password is in no setting.
        { name: 'MAILCLOUD_RELAY_PASSWORD', value: empty(relayUser) ? '' : '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/relay-password)' }
      ]
    }
  }
  dependsOn: [deployments]
}

output name string = app.name
