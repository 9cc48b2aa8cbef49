// MailCloud in Azure: storage (the source of truth), the functions app (isolated worker on Flex Consumption), the
// front ends on Container Apps in a VNet (external TCP ingress for mail), Key Vault for the TLS certificate and DKIM
// keys, one user-assigned managed identity with data-plane roles, and monitoring. Compiled and linted in the tests
// with the Bicep CLI from NuGet; `azd up` (azure.yaml) provisions and deploys it.
targetScope = 'resourceGroup'

@description('Short name used as a prefix for every resource (3-11 lower-case letters and digits).')
@minLength(3)
@maxLength(11)
param name string = 'mailcloud'

param location string = resourceGroup().location

@description('Mail host name clients and MX records point at (TLS certificate subject, SMTP greeting, HELO).')
param mailHostName string

@description('Front-end container image (protocol-hosts/MailCloud.FrontEnd/Dockerfile). Empty on the first `azd provision`: a placeholder runs until `azd deploy` pushes the real one.')
param frontEndImage string = ''

@description('Deploy the front ends (container apps in a VNet); false deploys storage, vault and functions only.')
param deployFrontEnd bool = true

@description('Create a container registry for the image (what azd pushes to); false when the image lives elsewhere.')
param createContainerRegistry bool = true

@description('Name of the TLS certificate in the Key Vault (import or create it before deploying the front end).')
param tlsCertificateName string = 'mail-tls'

@description('One container app per protocol instead of one for all (large deployments).')
param splitFrontEnds bool = false

@description('vCPU and memory of each front-end replica.')
param frontEndCpu string = '0.25'
param frontEndMemory string = '0.5Gi'

@description('SHA-256 of the admin API token (./mailcloud admin-token); empty keeps the admin API off.')
@secure()
param adminTokenSha256 string = ''

@description('Shared key of the push channel: the index function POSTs new-mail hints to the front end with it (a new one each deployment unless given).')
@secure()
param pushKey string = newGuid()

@description('Smart host for outgoing mail, host:port (most subscriptions block outbound port 25).')
param relayHost string = ''
param relayUser string = ''
@secure()
param relayPassword string = ''

var suffix = uniqueString(resourceGroup().id)

@description('Run rspamd (spam scoring, learning from Junk moves) as a container app: about $12 a month. Off: the built-in scorer.')
param deployRspamd bool = false

@description('Run clamd (virus scanning) as a container app: about $35 a month idle (it holds ~3 GiB of signatures in memory).')
param deployClamd bool = false

@description('When the automatic backup runs (NCRONTAB with seconds, UTC); "off" disables it.')
param backupSchedule string = '0 0 2 * * *'
@description('Backup sets kept: the newest of each of this many days ...')
param backupDaily int = 7
@description('... and of this many weeks.')
param backupWeekly int = 4

@description('Container images of the engines; pin a tag or digest you have tested.')
param rspamdImage string = 'docker.io/rspamd/rspamd:latest'
param clamdImage string = 'docker.io/clamav/clamav:stable'

var engines = deployRspamd || deployClamd

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
    relayPassword: relayPassword
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
    mailHostName: mailHostName
    relayHost: relayHost
    relayUser: relayUser
    // New mail is pushed to the front end that serves IMAP and HTTP together; split front ends rely on the poll.
    pushUrl: deployFrontEnd && !splitFrontEnds ? 'https://${frontEnds!.outputs.fqdn}/internal/mailbox-changed' : ''
    pushKey: pushKey
    subnetId: engines ? network!.outputs.functionsSubnetId : ''
    rspamdUrl: deployRspamd ? contentEngines!.outputs.rspamdUrl : ''
    rspamdControllerUrl: deployRspamd ? contentEngines!.outputs.rspamdControllerUrl : ''
    clamd: deployClamd ? contentEngines!.outputs.clamd : ''
    backupSchedule: backupSchedule
    backupDaily: backupDaily
    backupWeekly: backupWeekly
  }
}

module registry 'modules/registry.bicep' = if (deployFrontEnd && createContainerRegistry) {
  name: 'registry'
  params: {
    name: take('${name}cr${suffix}', 50)
    location: location
    principalId: identity.outputs.principalId
  }
}

module network 'modules/network.bicep' = if (deployFrontEnd || engines) {
  name: 'network'
  params: {
    name: '${name}-vnet-${suffix}'
    location: location
    engines: engines
  }
}

module contentEngines 'modules/engines.bicep' = if (engines) {
  name: 'engines'
  params: {
    name: '${name}-${suffix}'
    location: location
    logAnalyticsWorkspaceId: monitoring.outputs.workspaceId
    subnetId: network!.outputs.enginesSubnetId
    vnetId: network!.outputs.vnetId
    rspamd: deployRspamd
    clamd: deployClamd
    rspamdImage: rspamdImage
    clamdImage: clamdImage
  }
}

module frontEnds 'modules/containerapps.bicep' = if (deployFrontEnd) {
  name: 'frontends'
  params: {
    name: '${name}-${suffix}'
    location: location
    logAnalyticsWorkspaceId: monitoring.outputs.workspaceId
    subnetId: network!.outputs.subnetId
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.accountName
    keyVaultUri: keyVault.outputs.uri
    mailHostName: mailHostName
    image: frontEndImage
    registryServer: createContainerRegistry ? registry!.outputs.loginServer : ''
    tlsCertificateName: tlsCertificateName
    splitFrontEnds: splitFrontEnds
    cpu: frontEndCpu
    memory: frontEndMemory
    adminTokenSha256: adminTokenSha256
    pushKey: splitFrontEnds ? '' : pushKey
    spamLearning: deployRspamd
    appInsightsConnectionString: monitoring.outputs.appInsightsConnectionString
  }
}

output storageAccount string = storage.outputs.accountName
output functionApp string = functions.outputs.name
output keyVault string = keyVault.outputs.name
@description('A record of the mail host (the MX target); empty until the front end is deployed.')
output inboundIp string = deployFrontEnd ? frontEnds!.outputs.inboundIp : ''
@description('Addresses outgoing mail leaves from: SPF (ip4:...) and a PTR record for each.')
output outboundIps array = deployFrontEnd ? frontEnds!.outputs.outboundIps : []
output webFqdn string = deployFrontEnd ? frontEnds!.outputs.fqdn : ''
@description('Where azd pushes the front-end image.')
output AZURE_CONTAINER_REGISTRY_ENDPOINT string = deployFrontEnd && createContainerRegistry ? registry!.outputs.loginServer : ''
