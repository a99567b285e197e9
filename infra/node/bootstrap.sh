#!/usr/bin/env bash
# rtcgw media node bootstrap — fetched and run by the launch template's user data (see
# infra/lib/media-nodes.ts), with every value it needs as a parameter:
#   installs a pinned Node.js (with its npm) and the project from a clean artifact (a `git archive`
#   of the tracked files), writes /etc/rtcgw.env (0600, with AWS_REGION), installs and starts the
#   systemd units (rtcgw-node, rtcgw-agent), and with --turn-secret-arn coturn beside the node
#   (rtcgw-turn: turnserver from the AMI, from dnf, or coturn's official container image by Docker —
#   see install_turn; run as coturn's package user with only CAP_NET_BIND_SERVICE: its config written 0600
#   from the Secrets Manager secret; with --turn-tls-cert-arn a TLS listener too, the certificate and
#   key from that secret; the node announces turn:<public ip>:<port> over UDP and TCP, and
#   turns:<name>:<tls port> over TLS, in its registry record via RTCGW_NODE_TURN_URLS), then waits
#   until every worker's control port (and the TURN ports) answers, completes the group's launch
#   lifecycle action (CONTINUE: the instance may go InService — an instance refresh replaces an old
#   instance only then) and signals CloudFormation (cfn-signal). On any error: ABANDON and a failure
#   signal, so a node that does not come up healthy never takes traffic and fails a creation.
# The node secret is NOT written here: the node reads it from Secrets Manager at start. The TURN
# secret is written only into coturn's own config (0600), never into the node's env file.
#
# Rehearsal (test/infra/rehearsal.test.ts), when RTCGW_BOOTSTRAP_ROOT is set — so the template's
# user data runs unchanged. It differs in ONE step, the install (install_packages, install_node,
# install_dependencies below): no `dnf`, the Node.js on PATH instead of the pinned download,
# node_modules linked from $RTCGW_BOOTSTRAP_NODE_MODULES instead of `npm ci` — and each command a
# package would have installed must already be on PATH (the same check as after a real install;
# `docker` is the rehearsal's stand-in, which runs Debian's turnserver in the container's place).
# With RTCGW_BOOTSTRAP_INSTALL=real a rehearsal runs the real install too (`dnf` then being
# whatever is on PATH, the Node.js from --node-dist-url, `npm ci` from the npm registry). Besides, files go under
# $RTCGW_BOOTSTRAP_ROOT and the AWS endpoint overrides of this environment (AWS_ENDPOINT_URL_*,
# AWS_EC2_METADATA_SERVICE_ENDPOINT) are passed on to the node. Everything else — parameters, IMDS,
# artifact download, env file, units, the CloudWatch agent's configuration, coturn (its user, its
# TLS certificate), health wait, lifecycle action, signal — is the same code.
set -eEuo pipefail

usage() {
  cat >&2 <<'USAGE'
usage: bootstrap.sh --region R --artifact s3://bucket/key.tar.gz --node-version X.Y.Z [--node-dist-url URL]
  --table T --secret-arn ARN --bucket B --workers N --capacity C --udp-port P --control-port P
  --drain-timeout S --asg-name NAME --lifecycle-hook NAME --launch-hook NAME --stack NAME
  --resource LOGICAL_ID
  [--turn-secret-arn ARN [--turn-port P] [--turn-runtime auto|binary|dnf|container]
    [--turn-image IMAGE@sha256:DIGEST]
    [--turn-tls-cert-arn ARN --turn-tls-host NAME_TEMPLATE [--turn-tls-port P]]]
  --turn-runtime: where coturn comes from — auto (default): turnserver on PATH (a baked AMI), else
  `dnf install coturn`, else the official container image (--turn-image) run by Docker from the
  distribution's repositories; or force one of binary / dnf / container
  NAME_TEMPLATE: the name clients dial for TLS, which the certificate must match; {ip} is this
  node's public IPv4, {ip-dashed} the same with dashes (e.g. {ip-dashed}.turn.example.com)
USAGE
  exit 2
}

REGION= ARTIFACT= NODE_VERSION= NODE_DIST=https://nodejs.org/dist TABLE= SECRET_ARN= BUCKET= WORKERS= CAPACITY= UDP_PORT= CONTROL_PORT=
DRAIN_TIMEOUT= ASG_NAME= HOOK_NAME= LAUNCH_HOOK= STACK= RESOURCE= TURN_SECRET_ARN= TURN_PORT=3478
TLS_CERT_ARN= TLS_HOST= TLS_PORT=443 TURN_RUNTIME=auto
# coturn's official image (Docker Hub coturn/coturn, built by the coturn project from
# docker/coturn/debian/Dockerfile), pinned by digest: the tag is for people, the digest is what runs.
# Keep in step with DEFAULTS.turnImage in infra/lib/media-nodes.ts (a test compares them)
TURN_IMAGE=coturn/coturn:4.7.0@sha256:a00afb5b4890de4df22bbe70379c6b316685dffee297d53cac1271dcb91fab93
while [ $# -gt 0 ]; do
  case "$1" in
    --region) REGION=$2; shift 2 ;;
    --artifact) ARTIFACT=$2; shift 2 ;;
    --node-version) NODE_VERSION=$2; shift 2 ;;
    --node-dist-url) NODE_DIST=${2%/}; shift 2 ;;
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
    --launch-hook) LAUNCH_HOOK=$2; shift 2 ;;
    --stack) STACK=$2; shift 2 ;;
    --resource) RESOURCE=$2; shift 2 ;;
    --turn-secret-arn) TURN_SECRET_ARN=$2; shift 2 ;;
    --turn-port) TURN_PORT=$2; shift 2 ;;
    --turn-tls-cert-arn) TLS_CERT_ARN=$2; shift 2 ;;
    --turn-tls-host) TLS_HOST=$2; shift 2 ;;
    --turn-tls-port) TLS_PORT=$2; shift 2 ;;
    --turn-runtime) TURN_RUNTIME=$2; shift 2 ;;
    --turn-image) TURN_IMAGE=$2; shift 2 ;;
    *) echo "bootstrap: unknown argument $1" >&2; usage ;;
  esac
done
for v in REGION ARTIFACT NODE_VERSION TABLE SECRET_ARN BUCKET WORKERS CAPACITY UDP_PORT CONTROL_PORT \
  DRAIN_TIMEOUT ASG_NAME HOOK_NAME LAUNCH_HOOK STACK RESOURCE; do
  [ -n "${!v}" ] || { echo "bootstrap: missing --$(echo "$v" | tr 'A-Z_' 'a-z-')" >&2; usage; }
done
if [ -n "$TLS_CERT_ARN" ] && { [ -z "$TURN_SECRET_ARN" ] || [ -z "$TLS_HOST" ]; }; then
  echo "bootstrap: --turn-tls-cert-arn needs --turn-secret-arn and --turn-tls-host" >&2; usage
fi
case "$TURN_RUNTIME" in auto | binary | dnf | container) ;; *)
  echo "bootstrap: --turn-runtime must be auto, binary, dnf or container, got '$TURN_RUNTIME'" >&2; usage ;;
esac
# a tag alone can be moved to another image; only a digest names the image that was reviewed
[[ "$TURN_IMAGE" =~ ^[a-z0-9][a-z0-9._/:-]*@sha256:[0-9a-f]{64}$ ]] || {
  echo "bootstrap: --turn-image must be pinned by digest (NAME[:TAG]@sha256:<64 hex>), got '$TURN_IMAGE'" >&2; usage
}

ROOT="" REHEARSAL=0 INSTALL_REAL=1
if [ -n "${RTCGW_BOOTSTRAP_ROOT:-}" ]; then
  REHEARSAL=1 ROOT=$RTCGW_BOOTSTRAP_ROOT NODE_MODULES=${RTCGW_BOOTSTRAP_NODE_MODULES:-}
  if [ "${RTCGW_BOOTSTRAP_INSTALL:-}" != real ]; then
    INSTALL_REAL=0
    [ -d "$NODE_MODULES" ] || { echo "bootstrap: a rehearsal needs RTCGW_BOOTSTRAP_NODE_MODULES" >&2; exit 2; }
  fi
fi
APP=$ROOT/opt/rtcgw
ENV_FILE=$ROOT/etc/rtcgw.env
UNITS=$ROOT/etc/systemd/system
DATA=$ROOT/var/lib/rtcgw
LOGS=$ROOT/var/log/rtcgw
export AWS_REGION=$REGION AWS_DEFAULT_REGION=$REGION
# cfn-signal (aws-cfn-bootstrap) and amazon-cloudwatch-agent-ctl live under /opt/aws
export PATH=/opt/aws/bin:/opt/aws/amazon-cloudwatch-agent/bin:$PATH

# CloudFormation waits for this signal when the group is created (its creation policy); later, during
# an instance refresh, nothing waits for it (cfn-signal then fails, which is logged, not fatal)
signal() {
  cfn-signal --exit-code "$1" --stack "$STACK" --resource "$RESOURCE" --region "$REGION" \
    --reason "${2:-rtcgw bootstrap}" || echo "bootstrap: cfn-signal failed (nothing waits for it outside a creation)" >&2
}
# the group's launch lifecycle hook holds this instance in Pending:Wait until this is called: CONTINUE
# lets it go InService (an instance refresh terminates an old instance only then), ABANDON
# terminates it. Not called = ABANDON at the hook's timeout.
launch_action() {
  aws autoscaling complete-lifecycle-action --region "$REGION" --auto-scaling-group-name "$ASG_NAME" \
    --lifecycle-hook-name "$LAUNCH_HOOK" --instance-id "$INSTANCE_ID" --lifecycle-action-result "$1"
}
INSTANCE_ID=""
# Every failure from here on tells the group and CloudFormation, so the instance never takes a call
# and a creation fails instead of waiting
failed() {
  local code=$1 line=$2
  # (errtrace also runs this trap in a failing command substitution: its parent reports)
  [ "$BASH_SUBSHELL" -gt 0 ] && exit "$code"
  echo "bootstrap: failed at line $line (exit $code)" >&2
  if [ -n "$INSTANCE_ID" ]; then launch_action ABANDON || echo "bootstrap: could not abandon the launch" >&2; fi
  signal 1 "bootstrap failed at line $line"
  exit "$code"
}
trap 'failed $? $LINENO' ERR

log() { echo "bootstrap: $*" >&2; }
die() { log "$*"; false; }

# ---- instance facts, IMDSv2 (the launch template requires tokens)
IMDS=${AWS_EC2_METADATA_SERVICE_ENDPOINT:-http://169.254.169.254}
TOKEN=$(curl -fsS -X PUT "$IMDS/latest/api/token" -H "X-aws-ec2-metadata-token-ttl-seconds: 300")
meta() { curl -fsS -H "X-aws-ec2-metadata-token: $TOKEN" "$IMDS/latest/meta-data/$1"; }
PRIVATE_IP=$(meta local-ipv4)
PUBLIC_IP=$(meta public-ipv4)
INSTANCE_ID=$(meta instance-id)
log "instance $INSTANCE_ID private $PRIVATE_IP public $PUBLIC_IP region $REGION"

# ---- OS packages, the pinned Node.js, the project's dependencies: the ONE step a rehearsal
# replaces (install_packages, install_node, install_dependencies); after it, both check the same
# commands and run the same code
ARCH=$(uname -m); case "$ARCH" in aarch64) NODE_ARCH=arm64 ;; x86_64) NODE_ARCH=x64 ;; *) NODE_ARCH=$ARCH ;; esac
NODE_DIR=$APP/node-v$NODE_VERSION
mkdir -p "$APP" "$DATA/recordings" "$LOGS" "$(dirname "$ENV_FILE")" "$UNITS"
# what each package must provide (cfn-signal: aws-cfn-bootstrap; the agent's control script)
COMMANDS=(tar gzip xz curl aws cfn-signal amazon-cloudwatch-agent-ctl)
install_packages() {
  if [ "$INSTALL_REAL" = 0 ]; then
    log "rehearsal: no dnf; the commands the packages provide must be on PATH"
  else
    dnf install -y tar gzip xz aws-cfn-bootstrap amazon-cloudwatch-agent
    # jemalloc for the media workers (RTCGW_MALLOC, docs/node.md: glibc keeps a busy node's peak
    # memory); optional — without it the workers run on glibc and their start's log says so
    dnf install -y jemalloc || log "jemalloc not installable: the media workers run on glibc's malloc"
  fi
  if [ -n "$TURN_SECRET_ARN" ]; then install_turn; fi
}
# coturn beside the node when TURN is on, from the first of: turnserver already on PATH (a baked
# AMI), `dnf install coturn` (a repository that carries it), the official container image run by
# Docker (AL2023's own `docker` package). Amazon Linux 2023's repositories were not found to carry
# coturn and EPEL is not supported there, so on a stock AL2023 AMI the container is what runs.
# --turn-runtime forces one; a forced one that cannot be had fails the bootstrap (no TURN-less node).
TURN_FROM=""
install_turn() {
  local r=$TURN_RUNTIME
  if [ "$r" = auto ] || [ "$r" = binary ]; then
    if command -v turnserver >/dev/null; then TURN_FROM=binary
    elif [ "$r" = binary ]; then die "--turn-runtime binary: turnserver is not on PATH (bake coturn into the AMI)"
    fi
  fi
  if [ -z "$TURN_FROM" ] && { [ "$r" = auto ] || [ "$r" = dnf ]; }; then
    if [ "$INSTALL_REAL" = 1 ] && dnf install -y coturn && command -v turnserver >/dev/null; then TURN_FROM=dnf
    elif [ "$r" = dnf ]; then
      if [ "$INSTALL_REAL" = 0 ] && command -v turnserver >/dev/null; then TURN_FROM=dnf # (the rehearsal: no dnf)
      else die "--turn-runtime dnf: coturn is not installable from the repositories (Amazon Linux 2023's do not carry it)"
      fi
    else log "coturn is neither on the AMI nor in the repositories: its official container image, by Docker"
    fi
  fi
  if [ -z "$TURN_FROM" ]; then
    if [ "$INSTALL_REAL" = 1 ]; then
      dnf install -y docker || die "TURN is on but neither coturn nor docker could be installed (docs/deploy.md, TURN)"
    fi
    command -v docker >/dev/null || die "TURN is on but coturn is not installed and cannot be, and docker is not installed (its package did not provide it)"
    systemctl enable --now docker.service
    TURN_FROM=container
  fi
  case "$TURN_FROM" in
    binary) log "TURN: coturn from the AMI ($(command -v turnserver))" ;;
    dnf) log "TURN: coturn from the repositories (dnf install coturn: $(command -v turnserver))" ;;
    container) log "TURN: coturn from its official container image $TURN_IMAGE, run by Docker (docker.service)" ;;
  esac
}
install_node() {
  if [ "$INSTALL_REAL" = 0 ]; then
    log "rehearsal: the Node.js on PATH stands in for v$NODE_VERSION ($(node --version))"
    mkdir -p "$NODE_DIR/bin"
    ln -sf "$(command -v node)" "$NODE_DIR/bin/node"
  else
    # the release tarball, checked against the release's SHASUMS256.txt (one line must match)
    local tarball=node-v$NODE_VERSION-linux-$NODE_ARCH.tar.xz dl
    dl=$(mktemp -d)
    (cd "$dl" &&
      curl -fsSLO "$NODE_DIST/v$NODE_VERSION/$tarball" &&
      curl -fsSLO "$NODE_DIST/v$NODE_VERSION/SHASUMS256.txt" &&
      grep " $tarball\$" SHASUMS256.txt | sha256sum -c - &&
      mkdir -p "$NODE_DIR" && tar -xJf "$tarball" -C "$NODE_DIR" --strip-components=1)
    rm -rf "$dl"
  fi
}
install_dependencies() {
  if [ "$INSTALL_REAL" = 0 ]; then
    ln -s "$NODE_MODULES" "$1/node_modules"
  else
    (cd "$1" && PATH=$NODE_DIR/bin:$PATH npm ci --omit=dev --no-audit --no-fund)
  fi
}
install_packages
for c in "${COMMANDS[@]}"; do
  command -v "$c" >/dev/null || die "$c is not installed (its package did not provide it)"
done
install_node
NODE=$NODE_DIR/bin/node
"$NODE" --version >/dev/null || die "the pinned Node.js $NODE_VERSION does not run"

# ---- the project, from the clean artifact (tracked files only)
aws s3 cp "$ARTIFACT" "$APP/artifact.tar.gz" --region "$REGION" --only-show-errors
rm -rf "$APP/current.new" && mkdir -p "$APP/current.new"
tar -xzf "$APP/artifact.tar.gz" -C "$APP/current.new"
install_dependencies "$APP/current.new"
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
# stop timeout covers both; the agent stops the node through systemd on the termination hook.
# StartLimitIntervalSec=0: systemd's default start limit (5 starts in 10 s) would leave a unit that
# failed fast a few times in a row (the registry unreachable for a moment) failed for good, on an
# instance its EC2 health checks keep InService
STOP_S=$((DRAIN_TIMEOUT + 90))
cat >"$UNITS/rtcgw-node.service" <<UNIT
[Unit]
Description=rtcgw media node
After=network-online.target
Wants=network-online.target
StartLimitIntervalSec=0
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
StartLimitIntervalSec=0
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

# ---- logs and the node's Prometheus /metrics to CloudWatch (the CloudWatch agent; in a rehearsal
# its control script is a stand-in that checks this configuration and the files it names)
CWA=$ROOT/opt/aws/amazon-cloudwatch-agent/etc
TARGETS=""
for ((i = 0; i < WORKERS; i++)); do TARGETS="$TARGETS${TARGETS:+, }'$PRIVATE_IP:$((CONTROL_PORT + i))'"; done
mkdir -p "$CWA"
cat >"$CWA/prometheus.yaml" <<PROM
global: { scrape_interval: 60s }
scrape_configs:
  - job_name: rtcgw
    static_configs:
      - targets: [$TARGETS]
PROM
cat >"$CWA/amazon-cloudwatch-agent.json" <<CW
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
        "prometheus_config_path": "$CWA/prometheus.yaml",
        "emf_processor": { "metric_declaration_dedup": true, "metric_namespace": "rtcgw/node",
          "metric_declaration": [ { "source_labels": ["job"], "label_matcher": "^rtcgw$", "dimensions": [["job"]],
            "metric_selectors": ["^rtcgw_sessions$", "^rtcgw_offers_refused_total$", "^rtcgw_session_teardowns_total$", "^rtcgw_ghost_sessions_total$", "^rtcgw_event_loop_utilization$", "^rtcgw_process_cpu_seconds_total$"] } ] }
      }
    }
  }
}
CW
amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s \
  -c "file:$CWA/amazon-cloudwatch-agent.json"

# ---- TURN beside the node (coturn, TURN REST API shared secret from Secrets Manager): its config
# 0600 with the secret, readable only by coturn's own user; nothing else on the instance holds it.
# coturn runs as its package's unprivileged user (Debian: turnserver, Fedora's package: coturn; else a
# system user rtcgw-turn), with CAP_NET_BIND_SERVICE only, so it can bind 443 for TLS without being
# root — from the container image too (docker run --user that user). TLS: the
# certificate chain and its private key (PEM) from the operator's Secrets Manager secret, written
# 0600 for coturn's user; clients dial the name the certificate is for (--turn-tls-host).
TURN_URLS=""
if [ -n "$TURN_SECRET_ARN" ]; then
  TURN_USER=""
  for u in turnserver coturn; do if id -u "$u" >/dev/null 2>&1; then TURN_USER=$u; break; fi; done
  if [ -z "$TURN_USER" ]; then
    [ "$REHEARSAL" = 0 ] || die "rehearsal: coturn's user (turnserver or coturn) does not exist here"
    useradd --system --no-create-home --shell /sbin/nologin rtcgw-turn
    TURN_USER=rtcgw-turn
  fi
  TURN_GROUP=$(id -gn "$TURN_USER")
  # a rehearsal run by an unprivileged user cannot give files away (nor switch users: its systemctl
  # stand-in says so); the real bootstrap runs as root
  own() { if [ "$(id -u)" = 0 ]; then chown "$TURN_USER:$TURN_GROUP" "$@"; else [ "$REHEARSAL" = 1 ]; fi; }
  TURN_DIR=$ROOT/etc/rtcgw-turn
  TURN_STATE=$ROOT/var/lib/rtcgw-turn
  TURN_CONF=$TURN_DIR/turnserver.conf
  mkdir -p "$TURN_DIR" "$TURN_STATE"
  chmod 0750 "$TURN_DIR" "$TURN_STATE"
  own "$TURN_DIR" "$TURN_STATE"
  umask 077
  : >"$TURN_CONF"
  chmod 0600 "$TURN_CONF"
  own "$TURN_CONF"
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
no-dtls
no-cli
no-multicast-peers
denied-peer-ip=0.0.0.0-255.255.255.255
allowed-peer-ip=$PUBLIC_IP
allowed-peer-ip=$PRIVATE_IP
userdb=$TURN_STATE/turndb
pidfile=$TURN_STATE/turnserver.pid
simple-log
TURN
  unset TURN_SECRET
  TURN_URLS="turn:$PUBLIC_IP:$TURN_PORT?transport=udp,turn:$PUBLIC_IP:$TURN_PORT?transport=tcp"
  if [ -n "$TLS_CERT_ARN" ]; then
    TLS_NAME=${TLS_HOST//\{ip\}/$PUBLIC_IP}
    TLS_NAME=${TLS_NAME//\{ip-dashed\}/${PUBLIC_IP//./-}}
    [[ "$TLS_NAME" =~ ^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$ ]] ||
      die "--turn-tls-host '$TLS_HOST' gives '$TLS_NAME', not a host name"
    TLS_CERT=$TURN_DIR/cert.pem TLS_KEY=$TURN_DIR/key.pem
    : >"$TLS_CERT"; : >"$TLS_KEY"
    chmod 0600 "$TLS_CERT" "$TLS_KEY"
    own "$TLS_CERT" "$TLS_KEY"
    # one secret, PEM: the certificate chain (leaf first) and the private key, in any order
    aws secretsmanager get-secret-value --region "$REGION" --secret-id "$TLS_CERT_ARN" \
      --query SecretString --output text |
      awk -v cert="$TLS_CERT" -v key="$TLS_KEY" '
        /^-----BEGIN CERTIFICATE-----/ { out = cert }
        /^-----BEGIN ([A-Z]+ )?PRIVATE KEY-----/ { out = key }
        out { print > out }
        /^-----END / { out = "" }'
    grep -q '^-----BEGIN CERTIFICATE-----' "$TLS_CERT" && grep -q 'PRIVATE KEY-----$' "$TLS_KEY" ||
      die "the TLS secret $TLS_CERT_ARN must hold the certificate chain and its private key, PEM"
    if command -v openssl >/dev/null; then
      openssl x509 -noout -checkend 0 -in "$TLS_CERT" >/dev/null ||
        die "the TURN TLS certificate in $TLS_CERT_ARN has expired"
      [ "$(openssl x509 -noout -pubkey -in "$TLS_CERT")" = "$(openssl pkey -pubout -in "$TLS_KEY")" ] ||
        die "the private key in $TLS_CERT_ARN is not the certificate's"
    fi
    cat >>"$TURN_CONF" <<TURN
tls-listening-port=$TLS_PORT
cert=$TLS_CERT
pkey=$TLS_KEY
no-tlsv1
no-tlsv1_1
TURN
    TURN_URLS="$TURN_URLS,turns:$TLS_NAME:$TLS_PORT?transport=tcp"
  else
    echo "no-tls" >>"$TURN_CONF"
  fi
  umask 022
  if [ "$TURN_FROM" != container ]; then
    TURN_BIN=$(command -v turnserver)
    cat >"$UNITS/rtcgw-turn.service" <<UNIT
[Unit]
Description=rtcgw TURN server (coturn) beside the media node
After=network-online.target
Wants=network-online.target
[Service]
EnvironmentFile=$ENV_FILE
User=$TURN_USER
Group=$TURN_GROUP
AmbientCapabilities=CAP_NET_BIND_SERVICE
CapabilityBoundingSet=CAP_NET_BIND_SERVICE
NoNewPrivileges=true
WorkingDirectory=/
ExecStart=$TURN_BIN -c $TURN_CONF --log-file=stdout
Restart=always
RestartSec=2
StandardOutput=append:$LOGS/turn.log
StandardError=append:$LOGS/turn.log
[Install]
WantedBy=multi-user.target
UNIT
  else
    # the official image, the same config: host network (TURN allocates relay ports on the node's
    # own addresses, as the package's coturn does), as that unprivileged user (--user: the files
    # are 0600 for it), every capability dropped but CAP_NET_BIND_SERVICE — kept even without a
    # port below 1024, because the image's turnserver carries it as a file capability
    # (setcap cap_net_bind_service=+ep): with it outside the bounding set the kernel refuses the
    # exec (EPERM, capabilities(7) "safety checking"). Its config directory is mounted read-only at
    # its own path (so the config's cert=/pkey= paths hold inside), its state directory (userdb,
    # pidfile) read-write. The image's entrypoint runs turnserver with the arguments that follow it.
    DOCKER_BIN=$(command -v docker)
    TURN_IDS=$(id -u "$TURN_USER"):$(id -g "$TURN_USER")
    cat >"$UNITS/rtcgw-turn.service" <<UNIT
[Unit]
Description=rtcgw TURN server (coturn, official container image) beside the media node
After=network-online.target docker.service
Wants=network-online.target
Requires=docker.service
[Service]
EnvironmentFile=$ENV_FILE
WorkingDirectory=/
ExecStartPre=-$DOCKER_BIN rm -f rtcgw-turn
ExecStart=$DOCKER_BIN run --rm --name rtcgw-turn --network host --user $TURN_IDS --cap-drop ALL --cap-add NET_BIND_SERVICE --volume $TURN_DIR:$TURN_DIR:ro --volume $TURN_STATE:$TURN_STATE:rw $TURN_IMAGE -c $TURN_CONF --log-file=stdout
ExecStop=$DOCKER_BIN stop --time 10 rtcgw-turn
Restart=always
RestartSec=2
TimeoutStartSec=300
StandardOutput=append:$LOGS/turn.log
StandardError=append:$LOGS/turn.log
[Install]
WantedBy=multi-user.target
UNIT
  fi
  echo "RTCGW_NODE_TURN_URLS=$TURN_URLS" >>"$ENV_FILE"
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
  for port in "$TURN_PORT" ${TLS_CERT_ARN:+"$TLS_PORT"}; do
    until (exec 3<>"/dev/tcp/$PRIVATE_IP/$port") 2>/dev/null; do
      if [ $SECONDS -ge $deadline ]; then
        log "the TURN server (port $port) did not come up"
        false
      fi
      sleep 1
    done
  done
  log "TURN answers on $PRIVATE_IP:$TURN_PORT${TLS_CERT_ARN:+ and TLS $TLS_PORT}; announced: $TURN_URLS"
fi
# healthy: the group may put it in service (an instance refresh now lets an old instance drain)
launch_action CONTINUE
trap - ERR
signal 0 "rtcgw node $INSTANCE_ID healthy ($WORKERS workers)"
log "done"
