#!/usr/bin/env bash
# rtcgw media node bootstrap — fetched and run by the launch template's user data (see
# infra/lib/media-nodes.ts), with every value it needs as a parameter:
#   installs a pinned Node.js (with its npm) and the project from a clean artifact (a `git archive`
#   of the tracked files), writes /etc/rtcgw.env (0600, with AWS_REGION), installs and starts the
#   systemd units (rtcgw-node, rtcgw-agent), and with --turn-secret-arn coturn beside the node
#   (rtcgw-turn: its config written 0600 from the Secrets Manager secret; the node announces
#   turn:<public ip>:<port> over UDP and TCP in its registry record via RTCGW_NODE_TURN_URLS), then
#   waits until every worker's control port (and the TURN port) answers and signals CloudFormation
#   (cfn-signal) — success, or failure on any error, so a node that does not come up healthy fails
#   the deploy.
# The node secret is NOT written here: the node reads it from Secrets Manager at start. The TURN
# secret is written only into coturn's own config (0600), never into the node's env file.
#
# Rehearsal (test/infra/rehearsal.test.ts), when RTCGW_BOOTSTRAP_ROOT is set — so the template's
# user data runs unchanged: everything under $RTCGW_BOOTSTRAP_ROOT, no OS package installs, the
# Node.js on PATH instead of the pinned download, node_modules linked from
# $RTCGW_BOOTSTRAP_NODE_MODULES instead of `npm ci` (no registry access), and the AWS endpoint
# overrides of this environment (AWS_ENDPOINT_URL_*, AWS_EC2_METADATA_SERVICE_ENDPOINT) passed on to
# the node. Everything else — parameters, IMDS, artifact download, env file, units, health wait,
# signal — is the same code.
set -euo pipefail

usage() {
  cat >&2 <<'USAGE'
usage: bootstrap.sh --region R --artifact s3://bucket/key.tar.gz --node-version X.Y.Z
  --table T --secret-arn ARN --bucket B --workers N --capacity C --udp-port P --control-port P
  --drain-timeout S --asg-name NAME --lifecycle-hook NAME --stack NAME --resource LOGICAL_ID
  [--turn-secret-arn ARN [--turn-port P]]
USAGE
  exit 2
}

REGION= ARTIFACT= NODE_VERSION= TABLE= SECRET_ARN= BUCKET= WORKERS= CAPACITY= UDP_PORT= CONTROL_PORT=
DRAIN_TIMEOUT= ASG_NAME= HOOK_NAME= STACK= RESOURCE= TURN_SECRET_ARN= TURN_PORT=3478
while [ $# -gt 0 ]; do
  case "$1" in
    --region) REGION=$2; shift 2 ;;
    --artifact) ARTIFACT=$2; shift 2 ;;
    --node-version) NODE_VERSION=$2; shift 2 ;;
    --table) TABLE=$2; shift 2 ;;
    --secret-arn) SECRET_ARN=$2; shift 2 ;;
    --bucket) BUCKET=$2; shift 2 ;;
    --workers) WORKERS=$2; shift 2 ;;
    --capacity) CAPACITY=$2; shift 2 ;;
    --udp-port) UDP_PORT=$2; shift 2 ;;
    --control-port) CONTROL_PORT=$2; shift 2 ;;
    --drain-timeout) DRAIN_TIMEOUT=$2; shift 2 ;;
    --asg-name) ASG_NAME=$2; shift 2 ;;
    --lifecycle-hook) HOOK_NAME=$2; shift 2 ;;
    --stack) STACK=$2; shift 2 ;;
    --resource) RESOURCE=$2; shift 2 ;;
    --turn-secret-arn) TURN_SECRET_ARN=$2; shift 2 ;;
    --turn-port) TURN_PORT=$2; shift 2 ;;
    *) echo "bootstrap: unknown argument $1" >&2; usage ;;
  esac
done
for v in REGION ARTIFACT NODE_VERSION TABLE SECRET_ARN BUCKET WORKERS CAPACITY UDP_PORT CONTROL_PORT \
  DRAIN_TIMEOUT ASG_NAME HOOK_NAME STACK RESOURCE; do
  [ -n "${!v}" ] || { echo "bootstrap: missing --$(echo "$v" | tr 'A-Z_' 'a-z-')" >&2; usage; }
done

ROOT="" REHEARSAL=0
if [ -n "${RTCGW_BOOTSTRAP_ROOT:-}" ]; then
  REHEARSAL=1 ROOT=$RTCGW_BOOTSTRAP_ROOT NODE_MODULES=${RTCGW_BOOTSTRAP_NODE_MODULES:-}
  [ -d "$NODE_MODULES" ] || { echo "bootstrap: a rehearsal needs RTCGW_BOOTSTRAP_NODE_MODULES" >&2; exit 2; }
fi
APP=$ROOT/opt/rtcgw
ENV_FILE=$ROOT/etc/rtcgw.env
UNITS=$ROOT/etc/systemd/system
DATA=$ROOT/var/lib/rtcgw
LOGS=$ROOT/var/log/rtcgw
export AWS_REGION=$REGION AWS_DEFAULT_REGION=$REGION
export PATH=/opt/aws/bin:$PATH

# Every failure from here on tells CloudFormation, so the deploy fails instead of waiting
signal() {
  cfn-signal --exit-code "$1" --stack "$STACK" --resource "$RESOURCE" --region "$REGION" \
    --reason "${2:-rtcgw bootstrap}" || echo "bootstrap: cfn-signal failed" >&2
}
trap 'code=$?; echo "bootstrap: failed at line $LINENO (exit $code)" >&2; signal 1 "bootstrap failed at line $LINENO"; exit $code' ERR

log() { echo "bootstrap: $*" >&2; }

# ---- instance facts, IMDSv2 (the launch template requires tokens)
IMDS=${AWS_EC2_METADATA_SERVICE_ENDPOINT:-http://169.254.169.254}
TOKEN=$(curl -fsS -X PUT "$IMDS/latest/api/token" -H "X-aws-ec2-metadata-token-ttl-seconds: 300")
meta() { curl -fsS -H "X-aws-ec2-metadata-token: $TOKEN" "$IMDS/latest/meta-data/$1"; }
PRIVATE_IP=$(meta local-ipv4)
PUBLIC_IP=$(meta public-ipv4)
INSTANCE_ID=$(meta instance-id)
log "instance $INSTANCE_ID private $PRIVATE_IP public $PUBLIC_IP region $REGION"

# ---- OS packages and the pinned Node.js
ARCH=$(uname -m); case "$ARCH" in aarch64) NODE_ARCH=arm64 ;; x86_64) NODE_ARCH=x64 ;; *) NODE_ARCH=$ARCH ;; esac
NODE_DIR=$APP/node-v$NODE_VERSION
mkdir -p "$APP" "$DATA/recordings" "$LOGS" "$(dirname "$ENV_FILE")" "$UNITS"
if [ "$REHEARSAL" = 1 ]; then
  log "rehearsal: no OS packages; the Node.js on PATH stands in for v$NODE_VERSION ($(node --version))"
  mkdir -p "$NODE_DIR/bin"
  ln -sf "$(command -v node)" "$NODE_DIR/bin/node"
else
  dnf install -y tar gzip xz aws-cfn-bootstrap amazon-cloudwatch-agent
  TARBALL=node-v$NODE_VERSION-linux-$NODE_ARCH.tar.xz
  cd /tmp
  curl -fsSLO "https://nodejs.org/dist/v$NODE_VERSION/$TARBALL"
  curl -fsSLO "https://nodejs.org/dist/v$NODE_VERSION/SHASUMS256.txt"
  grep " $TARBALL\$" SHASUMS256.txt | sha256sum -c -
  mkdir -p "$NODE_DIR" && tar -xJf "$TARBALL" -C "$NODE_DIR" --strip-components=1
fi
NODE=$NODE_DIR/bin/node

# ---- the project, from the clean artifact (tracked files only)
aws s3 cp "$ARTIFACT" "$APP/artifact.tar.gz" --region "$REGION" --only-show-errors
rm -rf "$APP/current.new" && mkdir -p "$APP/current.new"
tar -xzf "$APP/artifact.tar.gz" -C "$APP/current.new"
if [ "$REHEARSAL" = 1 ]; then
  ln -s "$NODE_MODULES" "$APP/current.new/node_modules"
else
  (cd "$APP/current.new" && PATH=$NODE_DIR/bin:$PATH npm ci --omit=dev --no-audit --no-fund)
fi
rm -rf "$APP/current" && mv "$APP/current.new" "$APP/current"

# ---- the environment: written 0600 before anything is in it; no secret in it
umask 077
: >"$ENV_FILE"
chmod 0600 "$ENV_FILE"
cat >>"$ENV_FILE" <<ENV
AWS_REGION=$REGION
RTCGW_REGISTRY=dynamodb:$TABLE
RTCGW_NODE_SECRET_ARN=$SECRET_ARN
NODE_PORT=$CONTROL_PORT
NODE_BIND_ADDRESS=$PRIVATE_IP
RTCGW_NODE_URL=http://$PRIVATE_IP:$CONTROL_PORT
MEDIA_UDP_PORT=$UDP_PORT
MEDIA_BIND_ADDRESS=0.0.0.0
MEDIA_ANNOUNCED_ADDRESS=$PUBLIC_IP
RTCGW_WORKERS=$WORKERS
RTCGW_NODE_CAPACITY=$CAPACITY
RTCGW_DRAIN_TIMEOUT=$DRAIN_TIMEOUT
RECORDINGS_DIR=$DATA/recordings
RTCGW_RECORDINGS_BUCKET=$BUCKET
RTCGW_ASG_NAME=$ASG_NAME
RTCGW_LIFECYCLE_HOOK=$HOOK_NAME
LOG_LEVEL=info
ENV
if [ "$REHEARSAL" = 1 ]; then
  env | grep -E '^(AWS_ENDPOINT_URL_[A-Z0-9_]+|AWS_EC2_METADATA_SERVICE_ENDPOINT)=' >>"$ENV_FILE" || true
fi
umask 022

# ---- systemd units: the node drains on SIGTERM (up to the drain timeout, then uploads), so the
# stop timeout covers both; the agent stops the node through systemd on the termination hook
STOP_S=$((DRAIN_TIMEOUT + 90))
cat >"$UNITS/rtcgw-node.service" <<UNIT
[Unit]
Description=rtcgw media node
After=network-online.target
Wants=network-online.target
[Service]
EnvironmentFile=$ENV_FILE
WorkingDirectory=$APP/current
ExecStart=$NODE bin/rtcgw.mjs node
KillSignal=SIGTERM
KillMode=mixed
TimeoutStopSec=$STOP_S
Restart=on-failure
RestartSec=2
StandardOutput=append:$LOGS/node.log
StandardError=append:$LOGS/node.log
[Install]
WantedBy=multi-user.target
UNIT
cat >"$UNITS/rtcgw-agent.service" <<UNIT
[Unit]
Description=rtcgw node agent (metrics, termination drain)
After=rtcgw-node.service
[Service]
EnvironmentFile=$ENV_FILE
WorkingDirectory=$APP/current
ExecStart=$NODE bin/rtcgw.mjs agent
Restart=on-failure
RestartSec=5
StandardOutput=append:$LOGS/agent.log
StandardError=append:$LOGS/agent.log
[Install]
WantedBy=multi-user.target
UNIT

# ---- logs and the node's Prometheus /metrics to CloudWatch (the CloudWatch agent)
if [ "$REHEARSAL" = 0 ]; then
  TARGETS=""
  for ((i = 0; i < WORKERS; i++)); do TARGETS="$TARGETS${TARGETS:+, }'$PRIVATE_IP:$((CONTROL_PORT + i))'"; done
  mkdir -p /opt/aws/amazon-cloudwatch-agent/etc
  cat >/opt/aws/amazon-cloudwatch-agent/etc/prometheus.yaml <<PROM
global: { scrape_interval: 60s }
scrape_configs:
  - job_name: rtcgw
    static_configs:
      - targets: [$TARGETS]
PROM
  cat >/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json <<CW
{
  "agent": { "region": "$REGION" },
  "metrics": {
    "namespace": "rtcgw/host",
    "append_dimensions": { "AutoScalingGroupName": "\${aws:AutoScalingGroupName}", "InstanceId": "\${aws:InstanceId}" },
    "metrics_collected": { "cpu": { "measurement": ["usage_active"], "totalcpu": true }, "mem": { "measurement": ["used_percent"] } }
  },
  "logs": {
    "logs_collected": {
      "files": { "collect_list": [
        { "file_path": "$LOGS/node.log", "log_group_name": "/rtcgw/$STACK/node", "log_stream_name": "{instance_id}" },
        { "file_path": "$LOGS/agent.log", "log_group_name": "/rtcgw/$STACK/agent", "log_stream_name": "{instance_id}" },
        { "file_path": "$LOGS/turn.log", "log_group_name": "/rtcgw/$STACK/turn", "log_stream_name": "{instance_id}" }
      ] }
    },
    "metrics_collected": {
      "prometheus": {
        "log_group_name": "/rtcgw/$STACK/prometheus",
        "prometheus_config_path": "/opt/aws/amazon-cloudwatch-agent/etc/prometheus.yaml",
        "emf_processor": { "metric_declaration_dedup": true, "metric_namespace": "rtcgw/node",
          "metric_declaration": [ { "source_labels": ["job"], "label_matcher": "^rtcgw$", "dimensions": [["job"]],
            "metric_selectors": ["^rtcgw_sessions$", "^rtcgw_offers_refused_total$", "^rtcgw_session_teardowns_total$", "^rtcgw_ghost_sessions_total$", "^rtcgw_event_loop_utilization$", "^process_cpu_seconds_total$"] } ] }
      }
    }
  }
}
CW
  /opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s \
    -c file:/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json
fi

# ---- TURN beside the node (coturn, TURN REST API shared secret from Secrets Manager): its config
# 0600 with the secret, nothing else on the instance holds it. No TLS listener: that needs a
# certificate for a name, which this stack does not provision (docs/deploy.md, "TURN"). The node
# announces this TURN server (RTCGW_NODE_TURN_URLS) only once coturn is installed and configured.
TURN_URLS=""
if [ -n "$TURN_SECRET_ARN" ]; then
  TURN_BIN=""
  if [ "$REHEARSAL" = 1 ]; then
    TURN_BIN=$(command -v turnserver || true)
  elif dnf install -y coturn; then
    TURN_BIN=$(command -v turnserver || true)
  fi
  if [ -n "$TURN_BIN" ]; then
    TURN_CONF=$ROOT/etc/coturn/turnserver.conf
    mkdir -p "$(dirname "$TURN_CONF")"
    umask 077
    : >"$TURN_CONF"
    chmod 0600 "$TURN_CONF"
    TURN_SECRET=$(aws secretsmanager get-secret-value --region "$REGION" --secret-id "$TURN_SECRET_ARN" \
      --query SecretString --output text)
    # relay only to this node's own addresses: the TURN server is no open proxy into the VPC or to
    # the internet (a relayed client sends to the node's host candidate, its public IP)
    cat >>"$TURN_CONF" <<TURN
listening-ip=$PRIVATE_IP
listening-port=$TURN_PORT
relay-ip=$PRIVATE_IP
external-ip=$PUBLIC_IP/$PRIVATE_IP
use-auth-secret
static-auth-secret=$TURN_SECRET
realm=rtcgw
fingerprint
no-tls
no-dtls
no-cli
no-multicast-peers
denied-peer-ip=0.0.0.0-255.255.255.255
allowed-peer-ip=$PUBLIC_IP
allowed-peer-ip=$PRIVATE_IP
simple-log
TURN
    unset TURN_SECRET
    umask 022
    cat >"$UNITS/rtcgw-turn.service" <<UNIT
[Unit]
Description=rtcgw TURN server (coturn) beside the media node
After=network-online.target
Wants=network-online.target
[Service]
EnvironmentFile=$ENV_FILE
WorkingDirectory=/
ExecStart=$TURN_BIN -c $TURN_CONF --log-file=stdout
Restart=always
RestartSec=2
StandardOutput=append:$LOGS/turn.log
StandardError=append:$LOGS/turn.log
[Install]
WantedBy=multi-user.target
UNIT
    TURN_URLS="turn:$PUBLIC_IP:$TURN_PORT?transport=udp,turn:$PUBLIC_IP:$TURN_PORT?transport=tcp"
    echo "RTCGW_NODE_TURN_URLS=$TURN_URLS" >>"$ENV_FILE"
  else
    log "coturn is not available from this AMI's repositories: TURN not started, none announced"
  fi
fi

systemctl daemon-reload
if [ -n "$TURN_URLS" ]; then systemctl enable --now rtcgw-turn.service; fi
systemctl enable --now rtcgw-node.service rtcgw-agent.service

# ---- healthy = every worker's control port answers /metrics within the deadline
deadline=$((SECONDS + ${RTCGW_BOOTSTRAP_HEALTH_TIMEOUT:-180}))
for ((i = 0; i < WORKERS; i++)); do
  port=$((CONTROL_PORT + i))
  until curl -fsS -o /dev/null "http://$PRIVATE_IP:$port/metrics"; do
    if [ $SECONDS -ge $deadline ]; then
      log "worker $i (control port $port) did not come up"
      false
    fi
    sleep 1
  done
  log "worker $i answers on $PRIVATE_IP:$port"
done
if [ -n "$TURN_URLS" ]; then
  until (exec 3<>"/dev/tcp/$PRIVATE_IP/$TURN_PORT") 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then
      log "the TURN server (port $TURN_PORT) did not come up"
      false
    fi
    sleep 1
  done
  log "TURN answers on $PRIVATE_IP:$TURN_PORT; announced: $TURN_URLS"
fi
trap - ERR
signal 0 "rtcgw node $INSTANCE_ID healthy ($WORKERS workers)"
log "done"
