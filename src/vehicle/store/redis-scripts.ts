/**
 * Lua scripts of the Redis vehicle store (run atomically by Redis; cached with EVALSHA).
 *
 * APPEND — one vehicle's measurements in one call, so that "accepted" means "in Redis":
 *   KEYS: the raw ZSET of each distinct signal, then the vehicle's signal SET, then the vehicle SET
 *   ARGV: vehicleId, retentionMs, maxPerSeries, nSignals, signal names…, per signal the request's
 *         (lowest ms, highest ms, count), then the members grouped by signal in that order
 *         (a member "<ms>|<value>[|f]" carries its time stamp: one argument per measurement)
 *   Returns one code per measurement, in the grouped order: 0 stored, 1 duplicate (same member at that time stamp),
 *   2 conflict (another value at that time stamp), 3 expired (older than the retention window
 *   relative to the series' newest time stamp). Then trims each touched series by age and count.
 *   Cost per request: per series one ZRANGE (newest), one ZRANGEBYSCORE only when the request
 *   reaches back into stored data, one variadic ZADD and two trims — not a command per
 *   measurement (redis.call from Lua costs a few µs each; this keeps a 100-measurement request
 *   near 50 µs of Redis time).
 *
 * SET_IF_NEWER — keeps the newest JSON document (by its "ts") in a key.
 */

export const APPEND_LUA = `
local vehicle = ARGV[1]
local retention = tonumber(ARGV[2])
local cap = tonumber(ARGV[3])
local nsig = tonumber(ARGV[4])
local pos = 4 + 4 * nsig
local out = {}
for k = 1, nsig do
  local lo = tonumber(ARGV[4 + nsig + 3 * k - 2])
  local hi = tonumber(ARGV[4 + nsig + 3 * k - 1])
  local n = tonumber(ARGV[4 + nsig + 3 * k])
  -- retention cutoff (relative to the newest of stored and new), and the members already
  -- stored in the request's time range, by time stamp (only when the request reaches back)
  local top = redis.call('ZRANGE', KEYS[k], -1, -1, 'WITHSCORES')
  local newest = hi
  local topScore = nil
  if top[2] ~= nil then topScore = tonumber(top[2]) end
  if topScore ~= nil and topScore > newest then newest = topScore end
  local cutoff = newest - retention
  local clear = lo >= cutoff
  local ex = {}
  if topScore ~= nil and topScore >= lo then
    local range = redis.call('ZRANGEBYSCORE', KEYS[k], lo, hi)
    for _, m in ipairs(range) do ex[string.sub(m, 1, string.find(m, '|', 1, true) - 1)] = m end
  end
  local adds = {}
  for i = pos + 1, pos + n do
    local member = ARGV[i]
    local ts = string.sub(member, 1, string.find(member, '|', 1, true) - 1)
    if not clear and tonumber(ts) < cutoff then
      out[#out + 1] = 3
    else
      local cur = ex[ts]
      if cur == nil then
        ex[ts] = member
        adds[#adds + 1] = ts
        adds[#adds + 1] = member
        out[#out + 1] = 0
      elseif cur == member then
        out[#out + 1] = 1
      else
        out[#out + 1] = 2
      end
    end
  end
  pos = pos + n
  for j = 1, #adds, 4000 do redis.call('ZADD', KEYS[k], unpack(adds, j, math.min(j + 3999, #adds))) end
  redis.call('ZREMRANGEBYSCORE', KEYS[k], '-inf', '(' .. string.format('%.0f', cutoff))
  redis.call('ZREMRANGEBYRANK', KEYS[k], 0, -(cap + 1))
end
for j = 1, nsig, 4000 do redis.call('SADD', KEYS[nsig + 1], unpack(ARGV, 4 + j, 4 + math.min(j + 3999, nsig))) end
redis.call('SADD', KEYS[nsig + 2], vehicle)
return out
`;

/**
 * PUBLISH_VECTORS — new vectors in one call (each JSON document sent once, used three or four times):
 *   KEYS: the vector stream, the forward journal, then the latest-vector key of each vehicle concerned
 *   ARGV: channel, stream max length, number of journal fields (0 = no journal), then per latest
 *         key the index of its vector, then the vectors (JSON), then the journal fields
 *   XADD (capped, approximate) and PUBLISH per vector, in order; SET latest per vehicle; HSET
 *   each vector in the journal under its field when fields are given.
 */
export const PUBLISH_VECTORS_LUA = `
local channel = ARGV[1]
local maxlen = ARGV[2]
local njournal = tonumber(ARGV[3])
local nlatest = #KEYS - 2
local base = 3 + nlatest
local last = #ARGV - njournal
for i = base + 1, last do
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', maxlen, '*', 'v', ARGV[i])
  redis.call('PUBLISH', channel, ARGV[i])
  if njournal > 0 then redis.call('HSET', KEYS[2], ARGV[last + i - base], ARGV[i]) end
end
for j = 1, nlatest do
  redis.call('SET', KEYS[2 + j], ARGV[base + tonumber(ARGV[3 + j])])
end
return last - base
`;

export const SET_IF_NEWER_LUA = `
local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, doc = pcall(cjson.decode, cur)
  if ok and type(doc) == 'table' and tonumber(doc.ts) ~= nil and tonumber(doc.ts) > tonumber(ARGV[2]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1])
return 1
`;
