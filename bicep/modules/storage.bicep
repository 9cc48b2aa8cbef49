// The storage account: raw messages (blobs, soft delete on), work queues, directory and mailbox tables.
// Names must match infra/MailCloud.Core/StorageNames.cs.
param accountName string
param location string
@description('Principal that gets data-plane access (the managed identity).')
param principalId string

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: accountName
  location: location
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: {
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false // managed identity only
    accessTier: 'Hot'
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    // Soft delete: a deleted blob (housekeeping's, an operator's, a compromised identity's) can be undeleted for 14
    // days; the container soft delete does the same for a whole container. Versioning: overwriting a blob keeps the
    // old bytes as a version (messages are write-once, so this guards against a faulty restore or a bug, not normal use).
    // Neither protects against losing the account itself: the scheduled backup (container 'backups', or another
    // account with MAILCLOUD_BACKUP_STORAGE) is the copy to restore from, and keeps sets for days and weeks.
    deleteRetentionPolicy: { enabled: true, days: 14 }
    containerDeleteRetentionPolicy: { enabled: true, days: 14 }
    isVersioningEnabled: true
  }
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [for c in ['messages', 'envelopes', 'uploads', 'webkeys', 'backups', 'folderindex']: {
  parent: blobService
  name: c
  properties: { publicAccess: 'None' }
}]

// Folder indexes (see StorageNames.FolderIndexContainer) are overwritten as folders change; with versioning on, every
// overwrite would keep the old bytes for good. They are a cache, so earlier versions go after a day.
resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'folder-index-old-versions'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: { blobTypes: [ 'blockBlob' ], prefixMatch: [ 'folderindex/' ] }
            actions: { version: { delete: { daysAfterCreationGreaterThan: 1 } } }
          }
        }
      ]
    }
  }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [for q in ['inbound', 'inbound-poison', 'index', 'index-poison', 'outbound', 'outbound-poison', 'learn', 'learn-poison']: {
  parent: queueService
  name: q
}]

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [for t in ['directory', 'mailboxes', 'blobrefs', 'deliveries', 'quarantine', 'preferences', 'trace']: {
  parent: tableService
  name: t
}]

// Built-in data roles: Storage Blob Data Owner, Storage Queue Data Contributor, Storage Table Data Contributor.
var roles = [
  'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
]

resource assignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for role in roles: {
  scope: account
  name: guid(account.id, principalId, role)
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
  }
}]

output accountName string = account.name
