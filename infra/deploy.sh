#!/usr/bin/env bash
# Deploys rtcgw to AWS: bundles the functions, then `cdk deploy` of infra/.
# Needs AWS credentials in the environment (AWS_PROFILE or AWS_ACCESS_KEY_ID …) and a
# bootstrapped account/region (`npx cdk bootstrap` once).
set -euo pipefail
cd "$(dirname "$0")/.."
export CDK_DISABLE_CLI_TELEMETRY=true
if ! npx --no-install aws --version >/dev/null 2>&1 && [ -z "${AWS_ACCESS_KEY_ID:-}${AWS_PROFILE:-}${AWS_WEB_IDENTITY_TOKEN_FILE:-}" ]; then
  echo "rtcgw deploy: no AWS credentials found. Set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (and AWS_REGION), then run again." >&2
  exit 2
fi
echo "== bundling functions (registry: dynamodb)"
npm run -s build
echo "== cdk deploy"
cd infra
npx cdk deploy --require-approval never "$@"
