// What the stack is built from: the shared route table, the registry's table schema, the media
// node's artifact (tracked files at HEAD) and bootstrap, and the operator's settings from the
// environment of `npm run synth` / `npm run deploy` (docs/deploy.md lists them).
import * as path from "node:path";
import { REGISTRY_TABLE_SCHEMA } from "../../src/registry/dynamodb-table.js";
import { ROUTES } from "../../src/signaling/routes.js";
import { buildSourceArtifact } from "./artifact.js";
import type { GatewayStackProps } from "./gateway-stack.js";
import type { TurnRuntime } from "./media-nodes.js";

const num = (v: string | undefined) => (v === undefined || v === "" ? undefined : Number(v));

/** a positive whole number, or unset */
const positive = (name: string, v: string | undefined) => {
  const n = num(v);
  if (n !== undefined && !(Number.isInteger(n) && n > 0))
    throw new Error(`${name} must be a positive whole number, got ${v}`);
  return n;
};

const onOff = (name: string, v: string | undefined) => {
  if (v === undefined || v === "" || v === "on") return undefined;
  if (v === "off") return false;
  throw new Error(`${name} must be on or off, got ${v}`);
};

export function gatewayStackProps(
  root: string,
  env: NodeJS.ProcessEnv = process.env,
): Omit<GatewayStackProps, "env"> {
  const s = REGISTRY_TABLE_SCHEMA;
  const artifact = buildSourceArtifact(root, path.join(root, "infra/.artifacts"));
  if (artifact.dirty)
    process.stderr.write(
      `rtcgw synth: tracked files have uncommitted changes; the media node gets commit ${artifact.commit.slice(0, 12)} without them\n`,
    );
  return {
    routes: ROUTES,
    functionsDir: path.join(root, "dist/functions"),
    artifact: artifact.file,
    bootstrap: path.join(root, "infra/node/bootstrap.sh"),
    table: {
      partitionKey: s.partitionKey,
      sortKey: s.sortKey,
      ttlAttribute: s.ttlAttribute,
      indexes: [
        {
          name: s.byNodeIndex.name,
          partitionKey: s.byNodeIndex.partitionKey,
          sortKey: s.byNodeIndex.sortKey,
        },
      ],
    },
    mediaNode: {
      instanceType: env.RTCGW_NODE_INSTANCE_TYPE || undefined,
      vcpus: num(env.RTCGW_NODE_VCPUS),
      amiId: env.RTCGW_NODE_AMI || undefined,
      nodeVersion: env.RTCGW_NODE_VERSION || undefined,
      nodeDistUrl: env.RTCGW_NODE_DIST_URL || undefined,
      udpPort: num(env.MEDIA_UDP_PORT),
      controlPort: num(env.NODE_PORT),
      sessionsPerWorker: num(env.RTCGW_NODE_SESSIONS_PER_WORKER),
      minInstances: num(env.RTCGW_NODES_MIN),
      desiredInstances: num(env.RTCGW_NODES_DESIRED),
      maxInstances: num(env.RTCGW_NODES_MAX),
      drainSeconds: num(env.RTCGW_DRAIN_TIMEOUT),
      turn: onOff("RTCGW_NODE_TURN", env.RTCGW_NODE_TURN),
      turnPort: num(env.RTCGW_NODE_TURN_PORT),
      turnRuntime: (env.RTCGW_NODE_TURN_RUNTIME || undefined) as TurnRuntime | undefined,
      turnImage: env.RTCGW_NODE_TURN_IMAGE || undefined,
      ...(env.RTCGW_NODE_TURN_TLS_CERT_ARN
        ? {
            turnTls: {
              certSecretArn: env.RTCGW_NODE_TURN_TLS_CERT_ARN,
              host: env.RTCGW_NODE_TURN_TLS_HOST ?? "",
              port: num(env.RTCGW_NODE_TURN_TLS_PORT),
            },
          }
        : {}),
    },
    recordings: { expireDays: num(env.RTCGW_RECORDINGS_EXPIRE_DAYS) },
    throttle: {
      ratePerSecond: positive("RTCGW_API_RATE", env.RTCGW_API_RATE),
      burst: positive("RTCGW_API_BURST", env.RTCGW_API_BURST),
    },
    iceServers: env.RTCGW_ICE_SERVERS || undefined,
  };
}
