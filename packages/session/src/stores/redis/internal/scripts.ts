/**
 * The Lua scripts behind the Redis store. Each one touches keys of a single hash slot only
 * (a session's hash, a handle key, or one key-value namespace), so they run unchanged on
 * Redis Cluster. Times compared here are the store's clock (passed as ARGV), not Redis's:
 * that is what lets an injected clock decide expiry; PEXPIREAT values are real wall-clock
 * times computed by the caller.
 *
 * Session hash fields: `_p` the fixed fields packed into one value,
 * `<expiresAt>|<lastSeenAt>|<createdAt>|<absoluteExpiresAt>|<bound>|<handle>` (`bound` is the
 * expiry bound last written to the user index and handle key); `_u` user id (absent:
 * anonymous); `_a` authAt (absent: null); `d:<name>` one data key (JSON); `_m` the meta a
 * session was created with (one JSON object); `m:<name>` one meta key set later (JSON) and
 * `x:<name>` one removed later, both over `_m` (no script decodes JSON). One packed value
 * instead of six fields, and one for the meta, make every read's reply fourteen values
 * shorter, which is what a client spends its time decoding.
 *
 * Hashes written before the packed layout hold `_e`, `_l`, `_c`, `_x`, `_b`, `_h` as separate
 * fields. Every script reads both layouts, and a script that rewrites the fixed fields writes
 * `_p` and drops the separate ones, so such a session moves to the packed layout on its first
 * touch or full patch; with `layout: 'separate'` (a rolling upgrade, while instances of an
 * earlier version still run) new sessions are written, and such sessions kept, separate.
 */

/**
 * Lua that sets the locals `e l c x b h` (the fixed fields as stored; `e` nil when the hash
 * holds no session), `u` (the user id, false when anonymous) and `legacy` (true for the
 * separate-field layout) for the session hash KEYS[1]. Inlined rather than a Lua function: a
 * function defined in a script is a new closure on every call.
 */
const READ_FIXED = `
local fixed = redis.call('HMGET', KEYS[1], '_p', '_u')
local u = fixed[2]
local e, l, c, x, b, h
local legacy = false
if fixed[1] then
  e, l, c, x, b, h = string.match(fixed[1], '^([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|(.*)$')
else
  local g = redis.call('HMGET', KEYS[1], '_e', '_l', '_c', '_x', '_b', '_h')
  e, l, c, x, b, h = g[1], g[2], g[3], g[4], g[5], g[6]
  legacy = e ~= false
end
if e == false or e == '' then e = nil end
`;

/** A Lua expression: the packed `_p` value of the locals `READ_FIXED` set. */
const PACKED = `e .. '|' .. l .. '|' .. c .. '|' .. x .. '|' .. (b or '') .. '|' .. (h or '')`;

/**
 * Lua that appends the fixed fields to the local table `fields` (written by the script's HSET;
 * the touch, which writes nothing else, spells the same choice out as direct HSETs):
 * `_p`, dropping the separate fields of an earlier layout; or, when `keep` is true and the hash
 * has that layout (`layout: 'separate'`, for a rolling upgrade), the separate fields.
 */
const FIXED_FIELDS = `
if legacy and keep then
  for _, pair in ipairs({{'_l', l}, {'_e', e}, {'_x', x}, {'_b', b or '0'}}) do
    fields[#fields + 1] = pair[1]
    fields[#fields + 1] = pair[2]
  end
else
  if legacy then redis.call('HDEL', KEYS[1], '_e', '_l', '_c', '_x', '_b', '_h') end
  fields[#fields + 1] = '_p'
  fields[#fields + 1] = ${PACKED}
end
`;

/** Sets `p` (the packed value, or false) and `e` (expiresAt as stored, or false/nil). */
const EXPIRES = `
local p = redis.call('HGET', KEYS[1], '_p')
local e
if p then e = string.match(p, '^([^|]*)|') else e = redis.call('HGET', KEYS[1], '_e') end
`;

/** KEYS[1] session. ARGV: now, pxat, then field/value pairs. 1 created, 0 live record exists. */
export const CREATE_SESSION = `${EXPIRES}
if e and tonumber(e) > tonumber(ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1])
local i = 3
while i <= #ARGV do
  local j = math.min(i + 199, #ARGV)
  redis.call('HSET', KEYS[1], unpack(ARGV, i, j))
  i = j + 1
end
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return 1
`;

/**
 * The small patch, kept cheap for Redis: data and meta keys, `lastSeenAt`, `authAt`, when the
 * patch also deletes fields or moves `lastSeenAt` (one that only sets fields is a plain HSET,
 * see the store's `setFields`); nothing that moves the expiry or the user, so no index or TTL
 * work and no other field read.
 * KEYS[1] session. ARGV: now, lastSeenAt ('' unchanged), n (how many ARGV entries after this
 * one are field/value pairs), the pairs…, then the fields to delete…. 1 applied, 0 absent or
 * expired (nothing written: the liveness check and the write are one atomic step, so a patch
 * never recreates a hash that was deleted or expired).
 */
export const PATCH_FIELDS = `${EXPIRES}
if not e or tonumber(e) <= tonumber(ARGV[1]) then return 0 end
local rest
if p and ARGV[2] ~= '' then
  rest = string.match(p, '^[^|]*|[^|]*(|.*)$')
  if not rest then return 0 end
end
local n = 3 + tonumber(ARGV[3])
if #ARGV > n then redis.call('HDEL', KEYS[1], unpack(ARGV, n + 1)) end
if rest then
  redis.call('HSET', KEYS[1], '_p', e .. '|' .. ARGV[2] .. rest, unpack(ARGV, 4, n))
  return 1
end
if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], '_l', ARGV[2]) end
if n > 3 then redis.call('HSET', KEYS[1], unpack(ARGV, 4, n)) end
return 1
`;

/**
 * The second step of a set-only patch (the store's `setFields`), after its HSET, when that
 * HSET's answer does not settle it. KEYS[1] session. Answers the stored expiresAt (packed or
 * separate layout); or '' when the hash holds neither `_p` nor `_e`, after deleting it: no
 * session was there and the HSET created the hash with the patch's fields alone. A session
 * created since keeps its hash, and a malformed `_p` is left as it is (answer '').
 */
export const SETTLE_FIELDS = `${EXPIRES}
if e then return e end
if not p then redis.call('DEL', KEYS[1]) end
return ''
`;

/**
 * KEYS[1] session. ARGV: now, pxat ('' keeps the TTL), lastSeenAt ('' unchanged), setCount
 * (pairs), delCount, pairs…, names to delete…, then newExpires ('' unchanged), newAbsolute
 * ('' unchanged), userChange ('0' none, '1' set to next arg, '2' to anonymous), userId,
 * keep ('1': a hash in the separate-field layout stays in it).
 * Answers 0 when absent/expired, else {oldUser, newUser, handle, bound or ''} where bound is
 * set when the index expiry bound grew or the user changed.
 */
export const PATCH_SESSION = `${READ_FIXED}
local now = tonumber(ARGV[1])
if not e or tonumber(e) <= now then return 0 end
local oldUser = u or ''
local nset = tonumber(ARGV[4])
local ndel = tonumber(ARGV[5])
local fields = {}
local last = 5 + nset * 2
for k = 6, last do fields[#fields + 1] = ARGV[k] end
local i = last + 1
last = last + ndel
while i <= last do
  local j = math.min(i + 199, last)
  redis.call('HDEL', KEYS[1], unpack(ARGV, i, j))
  i = j + 1
end
local newExpires = ARGV[i]
local newAbsolute = ARGV[i + 1]
local userChange = ARGV[i + 2]
local keep = ARGV[i + 4] == '1'
local newUser = oldUser
if ARGV[3] ~= '' then l = ARGV[3] end
if newExpires ~= '' then e = newExpires end
if newAbsolute ~= '' then x = newAbsolute end
if userChange == '1' then
  newUser = ARGV[i + 3]
  fields[#fields + 1] = '_u'
  fields[#fields + 1] = newUser
elseif userChange == '2' then
  newUser = ''
  redis.call('HDEL', KEYS[1], '_u')
end
local bound = e
if tonumber(x) > tonumber(e) then bound = x end
local out = ''
if newUser ~= oldUser or tonumber(bound) > tonumber(b or '0') then
  b = bound
  out = bound
end
${FIXED_FIELDS}
local k = 1
while k <= #fields do
  local j = math.min(k + 199, #fields)
  redis.call('HSET', KEYS[1], unpack(fields, k, j))
  k = j + 1
end
if ARGV[2] ~= '' then redis.call('PEXPIREAT', KEYS[1], ARGV[2]) end
return {oldUser, newUser, h or '', out}
`;

/**
 * KEYS[1] session. ARGV: now, lastSeenAt, expiresAt, pxat, keep ('1': a hash in the
 * separate-field layout stays in it). 0 when absent/expired, else {1} or, when the index bound
 * grew, {2, userId, handle, bound}.
 */
export const TOUCH_SESSION = `${READ_FIXED}
if not e or tonumber(e) <= tonumber(ARGV[1]) then return 0 end
local keep = ARGV[5] == '1'
redis.call('PEXPIREAT', KEYS[1], ARGV[4])
l = ARGV[2]
e = ARGV[3]
local grew = tonumber(ARGV[3]) > tonumber(b or '0')
if grew then b = ARGV[3] end
if legacy and keep then
  redis.call('HSET', KEYS[1], '_l', l, '_e', e, '_b', b or '0')
else
  if legacy then redis.call('HDEL', KEYS[1], '_e', '_l', '_c', '_x', '_b', '_h') end
  redis.call('HSET', KEYS[1], '_p', ${PACKED})
end
if grew then return {2, u or '', h or '', ARGV[3]} end
return {1}
`;

/**
 * KEYS[1] session. ARGV: now, onlyUser ('' any). Deletes the record (when it belongs to
 * onlyUser, if given). {} when nothing was deleted, else {live 0/1, userId, handle}.
 */
export const DELETE_SESSION = `${READ_FIXED}
if not e then return {} end
if ARGV[2] ~= '' and u ~= ARGV[2] then return {} end
redis.call('DEL', KEYS[1])
local live = 0
if tonumber(e) > tonumber(ARGV[1]) then live = 1 end
return {live, u or '', h or ''}
`;

/**
 * KEYS[1] session. ARGV: now. Deletes it when expired: {userId, handle}, else 0. Also deletes
 * (answering 1) a hash with no fixed fields at all: what a set-only patch leaves when its
 * process dies between its write and its clean-up.
 */
export const PURGE_SESSION = `${READ_FIXED}
if not fixed[1] and not legacy then
  redis.call('DEL', KEYS[1])
  return 1
end
if not e or tonumber(e) > tonumber(ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1])
return {u or '', h or ''}
`;

/** KEYS[1] handle key. ARGV: expected value, new value, pxat. Compare-and-set. */
export const SWAP_HANDLE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PXAT', ARGV[3])
return 1
`;

/** KEYS[1] handle key. ARGV: expected value. Deletes it only when it still names that key. */
export const RELEASE_HANDLE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/** KEYS[1] handle key. ARGV: expected value, pxat. Extends it only when it names that key. */
export const EXTEND_HANDLE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIREAT', KEYS[1], ARGV[2]) end
return 0
`;

/**
 * KEYS[1] entry, KEYS[2] namespace index. ARGV: now, ifAbsent '1'/'0', stored text
 * ('<expiresAt or empty>|<json>'), expiresAt ('' none), pxat ('' none), member.
 * 1 written, 0 a live entry exists (ifAbsent).
 */
export const KV_SET = `
if ARGV[2] == '1' then
  local cur = redis.call('GET', KEYS[1])
  if cur then
    local e = string.match(cur, '^(%d*)|')
    if e == nil or e == '' or tonumber(e) > tonumber(ARGV[1]) then return 0 end
  end
end
if ARGV[5] ~= '' then
  redis.call('SET', KEYS[1], ARGV[3], 'PXAT', ARGV[5])
else
  redis.call('SET', KEYS[1], ARGV[3])
end
local score = ARGV[4]
if score == '' then score = '+inf' end
redis.call('ZADD', KEYS[2], score, ARGV[6])
return 1
`;

/** KEYS[1] entry, KEYS[2] index. ARGV: now, member. 1 when a live entry was deleted. */
export const KV_DELETE = `
local cur = redis.call('GET', KEYS[1])
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
if not cur then return 0 end
local e = string.match(cur, '^(%d*)|')
if e == nil or e == '' or tonumber(e) > tonumber(ARGV[1]) then return 1 end
return 0
`;

/**
 * KEYS[1] index. ARGV: now, entry key prefix. Live entries as a flat list
 * {member, stored, member, stored, …}; index members whose entry is gone are dropped.
 */
export const KV_LIST = `
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf')
local out = {}
for _, m in ipairs(members) do
  local v = redis.call('GET', ARGV[2] .. m)
  if v then
    table.insert(out, m)
    table.insert(out, v)
  else
    redis.call('ZREM', KEYS[1], m)
  end
end
return out
`;

/** KEYS[1] index. ARGV: now, entry key prefix. Deletes expired entries; the number removed. */
export const KV_PURGE = `
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 1000)
for _, m in ipairs(members) do
  redis.call('DEL', ARGV[2] .. m)
  redis.call('ZREM', KEYS[1], m)
end
return #members
`;

/**
 * The per-user cap, on the user's index alone (one slot, so it runs on Cluster). KEYS[1] the
 * user index (a sorted set of session keys scored by their expiry bound). ARGV: now, max,
 * 'refuse' or 'evict-oldest', the new key, its bound, then the user's live keys oldest first
 * (eviction candidates). The new session's hash already exists; this decides whether it
 * counts. Answers {0} (refused) or {1, evicted keys…}.
 */
export const RESERVE_USER_SLOT = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local max = tonumber(ARGV[2])
local count = redis.call('ZCARD', KEYS[1])
local out = {1}
if count >= max then
  if ARGV[3] == 'refuse' then return {0} end
  local i = 6
  while count >= max and i <= #ARGV do
    if redis.call('ZREM', KEYS[1], ARGV[i]) == 1 then
      out[#out + 1] = ARGV[i]
      count = count - 1
    end
    i = i + 1
  end
  while count >= max do
    local lowest = redis.call('ZRANGE', KEYS[1], 0, 0)
    if #lowest == 0 then break end
    redis.call('ZREM', KEYS[1], lowest[1])
    out[#out + 1] = lowest[1]
    count = count - 1
  end
end
redis.call('ZADD', KEYS[1], ARGV[5], ARGV[4])
return out
`;
