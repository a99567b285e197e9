// What the stack is built from: the shared route table and the registry's table schema.
import * as path from "node:path";
import { REGISTRY_TABLE_SCHEMA } from "../../src/registry/dynamodb-table.js";
import { ROUTES } from "../../src/signaling/routes.js";
import type { GatewayStackProps } from "./gateway-stack.js";

export function gatewayStackProps(root: string): Omit<GatewayStackProps, "env"> {
  const s = REGISTRY_TABLE_SCHEMA;
  return {
    routes: ROUTES,
    functionsDir: path.join(root, "dist/functions"),
    sourceDir: root,
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
      instanceType: process.env.RTCGW_NODE_INSTANCE_TYPE,
      udpPort: process.env.MEDIA_UDP_PORT ? Number(process.env.MEDIA_UDP_PORT) : undefined,
    },
    iceServers: process.env.RTCGW_ICE_SERVERS,
  };
}
