// The virtual network the Container Apps environment needs for external TCP ingress (mail is not HTTP):
// one subnet delegated to Microsoft.App/environments; a workload-profiles environment needs at least a /27.
// With content engines, two more: the engines' internal environment, and the function app's VNet integration
// (Flex Consumption delegates its subnet to Microsoft.App/environments too), so the functions reach the engines
// over private addresses only.
param name string
param location string
param addressPrefix string = '10.40.0.0/16'
param subnetPrefix string = '10.40.0.0/27'
param engines bool = false
param functionsSubnetPrefix string = '10.40.0.32/27'
param enginesSubnetPrefix string = '10.40.0.64/27'

var delegated = [
  { name: 'apps', properties: { serviceName: 'Microsoft.App/environments' } }
]

resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: name
  location: location
  properties: {
    addressSpace: { addressPrefixes: [addressPrefix] }
    subnets: concat(
      [
        { name: 'apps', properties: { addressPrefix: subnetPrefix, delegations: delegated } }
      ],
      engines
        ? [
            { name: 'functions', properties: { addressPrefix: functionsSubnetPrefix, delegations: delegated } }
            { name: 'engines', properties: { addressPrefix: enginesSubnetPrefix, delegations: delegated } }
          ]
        : []
    )
  }
}

output subnetId string = vnet.properties.subnets[0].id
output functionsSubnetId string = engines ? vnet.properties.subnets[1].id : ''
output enginesSubnetId string = engines ? vnet.properties.subnets[2].id : ''
output vnetId string = vnet.id
