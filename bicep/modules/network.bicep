// The virtual network the Container Apps environment needs for external TCP ingress (mail is not HTTP):
// one subnet delegated to Microsoft.App/environments; a workload-profiles environment needs at least a /27.
param name string
param location string
param addressPrefix string = '10.40.0.0/16'
param subnetPrefix string = '10.40.0.0/27'

resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: name
  location: location
  properties: {
    addressSpace: { addressPrefixes: [addressPrefix] }
    subnets: [
      {
        name: 'apps'
        properties: {
          addressPrefix: subnetPrefix
          delegations: [
            { name: 'apps', properties: { serviceName: 'Microsoft.App/environments' } }
          ]
        }
      }
    ]
  }
}

output subnetId string = vnet.properties.subnets[0].id
