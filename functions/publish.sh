#!/usr/bin/env bash
# Builds the deployable Functions app (isolated worker, framework-dependent for the dotnet-isolated 10.0 runtime,
# linux-x64 and ReadyToRun):
# MailCloud.Functions.dll with the SDK's functions.metadata, extensions.json and worker.config.json, host.json, and
# the binding extensions under .azurefunctions; then zips it for deployment.
#   functions/publish.sh [OUTPUT_DIR]     (default: artifacts/functionapp; the zip is OUTPUT_DIR.zip)
# Deploy the zip with azd (azure.yaml) or: az functionapp deployment source config-zip --src OUTPUT_DIR.zip ...
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$repo/artifacts/functionapp}"
rm -rf "$out" "$out.zip"
mkdir -p "$out"
# For linux-x64 (Flex Consumption's): the project makes that ReadyToRun, framework-dependent.
dotnet publish "$repo/functions/MailCloud.Functions/MailCloud.Functions.csproj" -c Release -r linux-x64 -o "$out" --nologo -v q "-clp:ErrorsOnly;NoSummary"
for f in host.json functions.metadata extensions.json worker.config.json MailCloud.Functions.dll; do
  [ -f "$out/$f" ] || { echo "publish.sh: $f missing from $out" >&2; exit 1; }
done
if command -v zip >/dev/null; then
  (cd "$out" && zip -qr "$out.zip" .)
else
  python3 -c "import shutil,sys; shutil.make_archive(sys.argv[1], 'zip', sys.argv[2])" "$out" "$out"
fi
echo "published to $out ($(python3 -c "import json,sys; print(', '.join(f['name'] for f in json.load(open(sys.argv[1]))))" "$out/functions.metadata")) and $out.zip"
