// The registry's DynamoDB table: one table, two item types, one GSI. Exported so infra/ (CDK)
// mirrors exactly what the store reads and writes, and so dev/tests can create it (ensureTable).
//
//   item      pk                 sk              gsi1pk           gsi1sk
//   node      NODES              NODE#<id>       –                –
//   session   SESSION#<id>       SESSION         NODE#<nodeId>    SESSION#<id>
//   claim     CLAIM#<key>        CLAIM           –                –
//
// All nodes share one item collection (pk = NODES): a fleet is tens of nodes, and listing them
// is then one strongly consistent Query. Sessions are looked up by id; the byNode GSI lists a
// node's sessions (also after the node expired: orphans). `expiresAt` is epoch *seconds* (the
// DynamoDB TTL attribute, rounded up so DynamoDB never deletes early); `expiresAtMs` is what the
// store checks on every read, because DynamoDB deletes expired items late (up to days) and
// dynalite never does.

type KeyElement = { AttributeName: string; KeyType: "HASH" | "RANGE" };

/** The CreateTable request as DynamoDB's JSON API takes it (the subset used here). */
export interface CreateTableInput {
  TableName: string;
  BillingMode: "PAY_PER_REQUEST" | "PROVISIONED";
  AttributeDefinitions: { AttributeName: string; AttributeType: "S" | "N" | "B" }[];
  KeySchema: KeyElement[];
  GlobalSecondaryIndexes?: {
    IndexName: string;
    KeySchema: KeyElement[];
    Projection: { ProjectionType: "ALL" | "KEYS_ONLY" | "INCLUDE" };
  }[];
}

export const REGISTRY_TABLE_SCHEMA = {
  partitionKey: "pk",
  sortKey: "sk",
  nodesPartition: "NODES",
  nodeSortPrefix: "NODE#",
  sessionPartitionPrefix: "SESSION#",
  sessionSortKey: "SESSION",
  /** single-use keys (client token ids), kept until the token expires */
  claimPartitionPrefix: "CLAIM#",
  claimSortKey: "CLAIM",
  /** an ended session's tombstone: same partition as its session, this sort key */
  tombstoneSortKey: "ENDED",
  byNodeIndex: { name: "byNode", partitionKey: "gsi1pk", sortKey: "gsi1sk" },
  /** DynamoDB TTL attribute: epoch seconds */
  ttlAttribute: "expiresAt",
  /** millisecond expiry the store filters on */
  expiresAtMsAttribute: "expiresAtMs",
} as const;

/** CreateTable input for the registry table (on-demand billing). */
export function registryTableDefinition(tableName: string): CreateTableInput {
  const s = REGISTRY_TABLE_SCHEMA;
  return {
    TableName: tableName,
    BillingMode: "PAY_PER_REQUEST",
    AttributeDefinitions: [
      { AttributeName: s.partitionKey, AttributeType: "S" },
      { AttributeName: s.sortKey, AttributeType: "S" },
      { AttributeName: s.byNodeIndex.partitionKey, AttributeType: "S" },
      { AttributeName: s.byNodeIndex.sortKey, AttributeType: "S" },
    ],
    KeySchema: [
      { AttributeName: s.partitionKey, KeyType: "HASH" },
      { AttributeName: s.sortKey, KeyType: "RANGE" },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: s.byNodeIndex.name,
        KeySchema: [
          { AttributeName: s.byNodeIndex.partitionKey, KeyType: "HASH" },
          { AttributeName: s.byNodeIndex.sortKey, KeyType: "RANGE" },
        ],
        Projection: { ProjectionType: "ALL" },
      },
    ],
  };
}
