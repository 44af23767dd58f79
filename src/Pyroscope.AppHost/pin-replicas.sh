#!/bin/sh
# azd postdeploy hook (azure.yaml): gives each deployed container app the replica count the AppHost configures,
# read from the one place it is set, the Topology section of appsettings.json beside this script. azd's generated
# container apps start at one replica and may autoscale to ten; an ingester must run exactly once (its ring
# identity and its volume are its own) and the compactor once; distributors and queriers run as many as configured.
# Needs the Azure CLI (az), signed in to the subscription azd deployed to.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
settings="$here/appsettings.json"
group=${AZURE_RESOURCE_GROUP:-rg-${AZURE_ENV_NAME:?AZURE_ENV_NAME is not set: run this through azd (azd up / azd deploy)}}

count() {
    value=$(tr -d '\r\n' < "$settings" | grep -o "\"$1\"[[:space:]]*:[[:space:]]*[0-9][0-9]*" | grep -o '[0-9][0-9]*$' || true)
    if [ -z "$value" ] || [ "$value" -lt 1 ]; then
        echo "Topology:$1 is not set to a number of at least 1 in $settings" >&2
        exit 1
    fi
    echo "$value"
}

pin() {
    echo "$1: $2 replica(s)"
    az containerapp update --name "$1" --resource-group "$group" --min-replicas "$2" --max-replicas "$2" --output none
}

distributors=$(count DistributorReplicas)
queriers=$(count QuerierReplicas)
ingesters=$(count Ingesters)

pin distributor "$distributors"
pin querier "$queriers"
pin compactor 1
i=0
while [ "$i" -lt "$ingesters" ]; do
    pin "ingester-$i" 1
    i=$((i + 1))
done
