/**
 * Lua scripts of the Redis vehicle store (run atomically by Redis; cached with EVALSHA).
 *
 * APPEND — one vehicle's measurements in one call, so that "accepted" means "in Redis":
 *   KEYS: the raw ZSET of each distinct signal, then the vehicle's signal SET, then the vehicle SET
 *   ARGV: vehicleId, retentionMs, maxPerSeries, nSignals, signal names…, then per measurement
 *         (key index, ms, member)
 *   Returns one code per measurement: 0 stored, 1 duplicate (same member at that time stamp),
 *   2 conflict (another value at that time stamp), 3 expired (older than the retention window
 *   relative to the series' newest time stamp). Then trims each touched series by age and count.
 *
 * SET_IF_NEWER — keeps the newest JSON document (by its "ts") in a key.
 */

export const APPEND_LUA = `
local vehicle = ARGV[1]
local retention = tonumber(ARGV[2])
local cap = tonumber(ARGV[3])
local nsig = tonumber(ARGV[4])
local base = 4 + nsig
local count = (#ARGV - base) / 3
local newest = {}
for i = 0, count - 1 do
  local k = tonumber(ARGV[base + 1 + i * 3])
  local ts = tonumber(ARGV[base + 2 + i * 3])
  if newest[k] == nil or ts > newest[k] then newest[k] = ts end
end
local cutoff = {}
for k, ts in pairs(newest) do
  local top = redis.call('ZRANGE', KEYS[k], -1, -1, 'WITHSCORES')
  local m = ts
  if top[2] ~= nil and tonumber(top[2]) > m then m = tonumber(top[2]) end
  cutoff[k] = m - retention
end
local out = {}
for i = 0, count - 1 do
  local k = tonumber(ARGV[base + 1 + i * 3])
  local ts = ARGV[base + 2 + i * 3]
  local member = ARGV[base + 3 + i * 3]
  if tonumber(ts) < cutoff[k] then
    out[i + 1] = 3
  else
    local ex = redis.call('ZRANGEBYSCORE', KEYS[k], ts, ts, 'LIMIT', 0, 1)
    if ex[1] == nil then
      redis.call('ZADD', KEYS[k], ts, member)
      out[i + 1] = 0
    elseif ex[1] == member then
      out[i + 1] = 1
    else
      out[i + 1] = 2
    end
  end
end
for k, c in pairs(cutoff) do
  redis.call('ZREMRANGEBYSCORE', KEYS[k], '-inf', '(' .. string.format('%.0f', c))
  redis.call('ZREMRANGEBYRANK', KEYS[k], 0, -(cap + 1))
end
for i = 1, nsig do
  redis.call('SADD', KEYS[nsig + 1], ARGV[4 + i])
end
redis.call('SADD', KEYS[nsig + 2], vehicle)
return out
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
