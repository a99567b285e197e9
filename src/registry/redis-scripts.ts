// Lua scripts for the Redis store. Each one runs atomically on the server (EVAL is executed as
// one unit, https://redis.io/docs/latest/develop/interact/programmability/eval-intro/), which
// gives create-unique, compare-version-and-set and consistent listings without WATCH retries.
// Times come from the server's TIME so a record's `expiresAt` agrees with its key TTL.
// Keys outside KEYS[] are built from prefixes: fine for a single Redis (not Cluster).

const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function ms(x) return string.format('%.0f', x) end
`;

/** KEYS: node, nodes-set · ARGV: ttlMs, id, field, value, … → the node hash */
export const REGISTER_NODE = `${NOW}
local ttl = tonumber(ARGV[1])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'expiresAt', ms(now + ttl), unpack(ARGV, 3))
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('SADD', KEYS[2], ARGV[2])
return redis.call('HGETALL', KEYS[1])
`;

/** KEYS: node, nodes-set · ARGV: ttlMs, id, load, draining ('1' | '0' | '' = unchanged),
 *  recordUnavailable (a reason | '-' = cleared | '' or absent = unchanged) → hash or nil */
export const HEARTBEAT_NODE = `${NOW}
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local ttl = tonumber(ARGV[1])
redis.call('HSET', KEYS[1], 'load', ARGV[3], 'expiresAt', ms(now + ttl))
if ARGV[4] == '1' then redis.call('HSET', KEYS[1], 'draining', '1')
elseif ARGV[4] == '0' then redis.call('HDEL', KEYS[1], 'draining') end
if ARGV[5] == '-' then redis.call('HDEL', KEYS[1], 'recordUnavailable')
elseif ARGV[5] ~= nil and ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'recordUnavailable', ARGV[5]) end
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('SADD', KEYS[2], ARGV[2])
return redis.call('HGETALL', KEYS[1])
`;

/** KEYS: nodes-set · ARGV: node-key prefix → { now, hash, hash, … } (ids of expired nodes are dropped from the set) */
export const LIST_NODES = `${NOW}
local out = { ms(now) }
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local h = redis.call('HGETALL', ARGV[1] .. id)
  if #h == 0 then redis.call('SREM', KEYS[1], id) else out[#out + 1] = h end
end
return out
`;

/** KEYS: node, nodes-set · ARGV: id */
export const REMOVE_NODE = `
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[1])
return 1
`;

/** KEYS: session, node index · ARGV: ttlMs, id, field, value, … → hash, or nil if the id is taken */
export const CREATE_SESSION = `${NOW}
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local ttl = tonumber(ARGV[1])
redis.call('HSET', KEYS[1], 'createdAt', ms(now), 'expiresAt', ms(now + ttl), 'version', '1', unpack(ARGV, 3))
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('SADD', KEYS[2], ARGV[2])
if redis.call('PTTL', KEYS[2]) < ttl then redis.call('PEXPIRE', KEYS[2], ttl) end
return redis.call('HGETALL', KEYS[1])
`;

/**
 * KEYS: session · ARGV: expectedVersion, ttlMs ('' = keep), node-index prefix, id, field, value, …
 * → { 0 } not found · { 1, currentVersion } conflict · { 2, hash } updated
 */
export const UPDATE_SESSION = `${NOW}
local cur = redis.call('HGET', KEYS[1], 'version')
if not cur then return { 0 } end
if cur ~= ARGV[1] then return { 1, cur } end
local oldNode = redis.call('HGET', KEYS[1], 'nodeId')
if #ARGV > 4 then redis.call('HSET', KEYS[1], unpack(ARGV, 5)) end
redis.call('HINCRBY', KEYS[1], 'version', 1)
local ttl = tonumber(ARGV[2])
if ttl then
  redis.call('HSET', KEYS[1], 'expiresAt', ms(now + ttl))
  redis.call('PEXPIRE', KEYS[1], ttl)
else
  ttl = redis.call('PTTL', KEYS[1])
end
local newNode = redis.call('HGET', KEYS[1], 'nodeId')
local idx = ARGV[3] .. newNode
if newNode ~= oldNode then
  redis.call('SREM', ARGV[3] .. oldNode, ARGV[4])
  redis.call('SADD', idx, ARGV[4])
end
if redis.call('PTTL', idx) < ttl then redis.call('PEXPIRE', idx, ttl) end
return { 2, redis.call('HGETALL', KEYS[1]) }
`;

/** KEYS: session · ARGV: node-index prefix, id → 1 deleted, 0 absent */
export const DELETE_SESSION = `
local node = redis.call('HGET', KEYS[1], 'nodeId')
if not node then return 0 end
redis.call('DEL', KEYS[1])
redis.call('SREM', ARGV[1] .. node, ARGV[2])
return 1
`;

/** KEYS: node index · ARGV: session-key prefix → { hash, … } (expired members are removed from the index) */
export const LIST_SESSIONS_BY_NODE = `
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local h = redis.call('HGETALL', ARGV[1] .. id)
  if #h == 0 then redis.call('SREM', KEYS[1], id) else out[#out + 1] = h end
end
return out
`;

/** KEYS: node · ARGV: ttlMs → 1 marked, 0 no such node (the mark lives in the node's hash: a re-register clears it) */
export const MARK_NODE_SUSPECT = `${NOW}
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'suspectUntil', ms(now + tonumber(ARGV[1])))
return 1
`;

/**
 * KEYS: session, tombstone · ARGV: ttlMs, reason, node-index prefix, id
 * → the tombstone hash (the existing one if the session had already ended), or nil when there is
 * neither a live session nor a tombstone. The live record is removed in the same step.
 */
export const END_SESSION = `${NOW}
local existing = redis.call('HGETALL', KEYS[2])
local s = redis.call('HMGET', KEYS[1], 'nodeId', 'kind', 'tokenHash')
if s[1] then
  redis.call('DEL', KEYS[1])
  redis.call('SREM', ARGV[3] .. s[1], ARGV[4])
end
if #existing > 0 then return existing end
if not s[1] then return false end
local ttl = tonumber(ARGV[1])
redis.call('HSET', KEYS[2], 'id', ARGV[4], 'nodeId', s[1], 'kind', s[2], 'tokenHash', s[3],
  'reason', ARGV[2], 'endedAt', ms(now), 'expiresAt', ms(now + ttl))
redis.call('PEXPIRE', KEYS[2], ttl)
return redis.call('HGETALL', KEYS[2])
`;
