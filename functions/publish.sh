#!/usr/bin/env bash
# Assembles the deployable Functions app: host.json, one folder per function with its function.json, and the
# custom handler (self-contained for linux-x64, since the Flex Consumption "custom" runtime brings no .NET).
#   functions/publish.sh [OUTPUT_DIR]     (default: artifacts/functionapp)
# Zip the output and deploy it with: az functionapp deployment source config-zip ... (see README).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$repo/artifacts/functionapp}"
rm -rf "$out"
mkdir -p "$out/handler"
dotnet publish "$repo/functions/MailCloud.Functions/MailCloud.Functions.csproj" -c Release -r linux-x64 --self-contained true \
  -o "$out/handler" --nologo -v q "-clp:ErrorsOnly;NoSummary"
cp "$repo/host.json" "$out/host.json"
for fn in "$repo"/functions/*/function.json; do
  name="$(basename "$(dirname "$fn")")"
  mkdir -p "$out/$name"
  cp "$fn" "$out/$name/function.json"
done
echo "published to $out: host.json, $(ls "$out" | grep -v -e handler -e host.json | tr '\n' ' ')and handler/MailCloud.Functions"
