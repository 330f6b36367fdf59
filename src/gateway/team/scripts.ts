/**
 * The team store's Lua scripts (docs/ARCHITECTURE.md, "Team mode"). Each runs atomically in
 * Redis, so one decision covers every machine of the account; Redis's own TIME is the one
 * clock. They follow the local limiter's rules (src/core/keyState.ts, fitTime and push): the
 * same 60 s and 1 s windows over requests and tokens, the same pacing slot, all keys or none.
 *
 * Per limiter key four Redis keys (all of one model share a hash tag, see keys.ts):
 *   log   sorted set of admissions: member "<ticket>:<tokens>", score = admission time (ms)
 *   sum   hash: t = tokens in the 60 s window, slot = the next paced slot (ms)
 *   heads sorted set of the machines' waiting lines: member place, score = when it first asked
 *   lease hash: place → when that line said it would ask again (a line silent past it + grace is dropped)
 * Numbers go back to Node as strings: Redis would truncate a Lua float reply to an integer.
 */

/** Lua shared by the scripts: the clock and a member's tokens. */
const COMMON = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local function tokensOf(member) return tonumber(string.match(member, ':(%d+)$')) end
`;

/**
 * ADMIT. KEYS: 4 per limiter key (log, sum, heads, lease). ARGV: ticket (this admission),
 * place (the machine's line: its order among the machines survives a change of first request),
 * cost, front (1/0), pacing tolerance ms, lease grace ms, horizon ms, then 5 per key: rpm,
 * tpm, rate factor, 1 s window ms, 60 s window ms.
 * A request that fits within the horizon is booked at the time it fits, not at now: the
 * gateway asks a little ahead and sends at that time, so the latency of asking and a late
 * timer do not cost throughput.
 * Reply: {'ok', now, at} | {'wait', now, at, reason} | {'never', now}.
 */
export const ADMIT_LUA = `${COMMON}
local ticket, place, cost, front = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4] == '1'
local tol, grace, horizon = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local n = #KEYS / 4
local at, why = now, 'none'
-- the keys this request waits for: only there does it register as a head (others stay free)
local waitsOn = {}
local function later(a, reason, i)
  if a > now then waitsOn[i] = true end
  if a > at then at, why = a, reason end
end
-- when enough of the oldest entries (flat list member, score, ...) free 'excess' tokens
local function leaveTime(entries, excess, w)
  local freed = 0
  for i = 1, #entries, 2 do
    freed = freed + tokensOf(entries[i])
    if freed >= excess then return tonumber(entries[i + 1]) + w end
  end
  return tonumber(entries[#entries]) + w
end
local blockedBy = nil
for i = 0, n - 1 do
  local log, sum = KEYS[i * 4 + 1], KEYS[i * 4 + 2]
  local b = 7 + i * 5
  local rpm, tpm, rate = tonumber(ARGV[b + 1]), tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3])
  local w1, w60 = tonumber(ARGV[b + 4]), tonumber(ARGV[b + 5])
  if cost > tpm then return {'never', tostring(now)} end
  local gone = redis.call('ZRANGEBYSCORE', log, '-inf', now - w60)
  if #gone > 0 then
    local freed = 0
    for _, m in ipairs(gone) do freed = freed + tokensOf(m) end
    redis.call('ZREMRANGEBYSCORE', log, '-inf', now - w60)
    redis.call('HINCRBYFLOAT', sum, 't', -freed)
  end
  local count = redis.call('ZCARD', log)
  local tokens = tonumber(redis.call('HGET', sum, 't') or '0')
  local slot = tonumber(redis.call('HGET', sum, 'slot') or '0')
  later(slot - tol, 'pacing', i)
  if count + 1 > rpm then
    local e = redis.call('ZRANGE', log, count - rpm, count - rpm, 'WITHSCORES')
    later(tonumber(e[2]) + w60, 'rpm', i)
  end
  if tokens + cost > tpm then
    later(leaveTime(redis.call('ZRANGE', log, 0, -1, 'WITHSCORES'), tokens + cost - tpm, w60), 'tpm', i)
  end
  local sec = redis.call('ZRANGEBYSCORE', log, '(' .. (now - w1), '+inf', 'WITHSCORES')
  local c1, t1 = #sec / 2, 0
  for j = 1, #sec, 2 do t1 = t1 + tokensOf(sec[j]) end
  local rps = math.max(1, math.ceil(rpm * rate / 60))
  local tps = math.max(1, math.ceil(tpm * rate / 60))
  if c1 + 1 > rps then later(tonumber(sec[(c1 - rps) * 2 + 2]) + w1, 'rps', i) end
  if t1 > 0 and t1 + cost > tps then
    later(leaveTime(sec, cost > tps and t1 or t1 + cost - tps, w1), 'tps', i)
  end
end
-- Order across machines: an older live line on a key goes first (a retry may go before it).
-- A line that will not ask before this request could go anyway (it waits on another key, say a
-- workspace's minute) does not hold it: it takes a slot that line could not use.
if not front then
  for i = 0, n - 1 do
    local heads, lease = KEYS[i * 4 + 3], KEYS[i * 4 + 4]
    local mine = redis.call('ZSCORE', heads, place)
    local hs = redis.call('ZRANGE', heads, 0, -1, 'WITHSCORES')
    for j = 1, #hs, 2 do
      local h, since = hs[j], tonumber(hs[j + 1])
      if h ~= place then
        local retryAt = tonumber(redis.call('HGET', lease, h) or '0')
        if retryAt + grace < now then
          redis.call('ZREM', heads, h)
          redis.call('HDEL', lease, h)
        elseif (mine == false or since < tonumber(mine)) and retryAt <= math.max(at, now) + tol then
          if blockedBy == nil or retryAt > blockedBy then blockedBy = retryAt end
          waitsOn[i] = true
        end
      end
    end
  end
end
if at - now <= horizon and blockedBy == nil then
  for i = 0, n - 1 do
    local log, sum, heads, lease = KEYS[i * 4 + 1], KEYS[i * 4 + 2], KEYS[i * 4 + 3], KEYS[i * 4 + 4]
    local b = 7 + i * 5
    local rpm, rate, w60 = tonumber(ARGV[b + 1]), tonumber(ARGV[b + 3]), tonumber(ARGV[b + 5])
    redis.call('ZADD', log, at, ticket .. ':' .. cost)
    redis.call('HINCRBYFLOAT', sum, 't', cost)
    local spacing = w60 / (rpm * rate)
    local slot = tonumber(redis.call('HGET', sum, 'slot') or '0')
    local lateBy = at - slot
    if not (lateBy >= 0 and lateBy < spacing) then slot = math.max(slot, at) end
    redis.call('HSET', sum, 'slot', tostring(slot + spacing))
    -- this line goes to the back: the next request of this machine asks anew
    redis.call('ZREM', heads, place)
    redis.call('HDEL', lease, place)
    for _, k in ipairs({log, sum, heads, lease}) do redis.call('PEXPIRE', k, math.ceil(w60 * 2)) end
  end
  return {'ok', tostring(now), tostring(at)}
end
if blockedBy ~= nil then
  -- behind another machine's head: ask again just after it said it would ask (never at once)
  local after = math.max(blockedBy + 1, now + 5)
  if after > at then at, why = after, 'order' end
end
for i = 0, n - 1 do
  if waitsOn[i] and not front then
    local heads, lease = KEYS[i * 4 + 3], KEYS[i * 4 + 4]
    redis.call('ZADD', heads, 'NX', now, place)
    redis.call('HSET', lease, place, tostring(at))
    redis.call('PEXPIRE', heads, 120000)
    redis.call('PEXPIRE', lease, 120000)
  end
end
return {'wait', tostring(now), tostring(at), why}
`;

/** SETTLE. KEYS: 2 per limiter key (log, sum). ARGV: old member, new member, new tokens. */
export const SETTLE_LUA = `${COMMON}
for i = 0, #KEYS / 2 - 1 do
  local log, sum = KEYS[i * 2 + 1], KEYS[i * 2 + 2]
  local score = redis.call('ZSCORE', log, ARGV[1])
  if score then
    redis.call('ZREM', log, ARGV[1])
    redis.call('ZADD', log, score, ARGV[2])
    redis.call('HINCRBYFLOAT', sum, 't', tonumber(ARGV[3]) - tokensOf(ARGV[1]))
  end
end
return tostring(now)
`;

/**
 * RETIME an admission that left this gateway late: count it from when it left, as the local
 * limiter does (Limiter.retime). KEYS: log per key. ARGV: member, how late (ms).
 */
export const RETIME_LUA = `
for i = 1, #KEYS do
  local score = redis.call('ZSCORE', KEYS[i], ARGV[1])
  if score then redis.call('ZADD', KEYS[i], 'XX', tonumber(score) + tonumber(ARGV[2]), ARGV[1]) end
end
return 1
`;

/** RELEASE a machine's line (no request waits in it any more). KEYS: heads, lease per key. ARGV: place. */
export const RELEASE_LUA = `
for i = 0, #KEYS / 2 - 1 do
  redis.call('ZREM', KEYS[i * 2 + 1], ARGV[1])
  redis.call('HDEL', KEYS[i * 2 + 2], ARGV[1])
end
return 1
`;

/**
 * REPLAY admissions made while the store was unreachable. KEYS: log, sum per key.
 * ARGV: count, then per admission: age in ms (how long before now), member, tokens.
 * Entries already past the 60 s window are skipped by the next ADMIT's expiry anyway.
 */
export const REPLAY_LUA = `${COMMON}
local count = tonumber(ARGV[1])
for i = 0, #KEYS / 2 - 1 do
  local log, sum = KEYS[i * 2 + 1], KEYS[i * 2 + 2]
  for j = 0, count - 1 do
    local age, member, tokens = tonumber(ARGV[2 + j * 3]), ARGV[3 + j * 3], tonumber(ARGV[4 + j * 3])
    if redis.call('ZADD', log, 'NX', now - age, member) == 1 then redis.call('HINCRBYFLOAT', sum, 't', tokens) end
  end
  redis.call('PEXPIRE', log, 120000)
  redis.call('PEXPIRE', sum, 120000)
end
return tostring(now)
`;

/** The time, as the scripts see it (ms). */
export const TIME_LUA = `${COMMON}
return tostring(now)
`;
