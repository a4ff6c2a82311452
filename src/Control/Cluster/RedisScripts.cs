namespace JumpingVpn.Control.Cluster;

/// <summary>
/// The Lua scripts of <see cref="RedisSessionStore"/>. Redis runs a script atomically (no other command
/// interleaves), so each check-then-write below is one compare-and-swap (docs/session-spec.md §5.2.3), and the
/// acquire reads the owner's heartbeat in the same step (docs/cluster.md "Failover"). Numbers are written with
/// %d: Lua's tostring would print 1.7e+12 for a Unix-ms value.
/// Every session script answers {status, store_now_ms, previous_owner, field1, value1, ...} (the record after
/// the operation, or as it stands when the operation lost).
/// Garbage collection: a TERMINATED record is kept only for the tombstone time. Live records are ended by
/// <see cref="Reap"/> (docs/cluster.md "Record expiry") from two sorted sets scored on Redis's clock: ids by creation
/// time (added by <see cref="Create"/>) and by release time (<see cref="Release"/>, which also keeps it in the field `relat`).
/// </summary>
internal static class RedisScripts
{
    private const string Prelude = """
        local function now_ms()
          local t = redis.call('TIME')
          return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        end
        local function reply(status, now, prev)
          local r = {status, string.format('%d', now), prev or ''}
          local all = redis.call('HGETALL', KEYS[1])
          for i = 1, #all do r[#r + 1] = all[i] end
          return r
        end
        local now = now_ms()

        """;

    /// <summary>KEYS: record. A read in one synchronous round trip, with the store's clock.</summary>
    public const string Read = Prelude + """
        if redis.call('EXISTS', KEYS[1]) == 0 then return reply('NOT_FOUND', now) end
        return reply('OK', now)
        """;

    /// <summary>KEYS: record, session set, ids by creation time (Redis's clock). ARGV: id, field/value pairs (owner and node epoch among them).</summary>
    public const string Create = Prelude + """
        if redis.call('EXISTS', KEYS[1]) == 1 then return reply('ALREADY_EXISTS', now) end
        redis.call('HSET', KEYS[1], unpack(ARGV, 2))
        redis.call('HSET', KEYS[1], 'epoch', '1', 'rel', '0')
        redis.call('SADD', KEYS[2], ARGV[1])
        redis.call('ZADD', KEYS[3], string.format('%d', now), ARGV[1])
        return reply('OK', now)
        """;

    /// <summary>KEYS: record, session set, ids by creation time, ids by release time. ARGV: expected version, owner, node epoch, epoch, terminated (0/1), tombstone_ms, id, field/value pairs.</summary>
    public const string CompareAndSwap = Prelude + """
        if redis.call('EXISTS', KEYS[1]) == 0 then return reply('NOT_FOUND', now) end
        local cur = redis.call('HMGET', KEYS[1], 'owner', 'nepoch', 'epoch', 'ver', 'rel')
        if cur[1] ~= ARGV[2] or cur[2] ~= ARGV[3] or cur[3] ~= ARGV[4] or cur[5] == '1' then return reply('OWNERSHIP_CONFLICT', now) end
        if cur[4] ~= ARGV[1] then return reply('STALE_STATE_VERSION', now) end
        redis.call('HSET', KEYS[1], unpack(ARGV, 8))
        if ARGV[5] == '1' then
          redis.call('PEXPIRE', KEYS[1], ARGV[6])
          redis.call('SREM', KEYS[2], ARGV[7])
          redis.call('ZREM', KEYS[3], ARGV[7])
          redis.call('ZREM', KEYS[4], ARGV[7])
        end
        return reply('OK', now)
        """;

    /// <summary>
    /// KEYS: record, node heartbeat hash. ARGV: node, node epoch, expected owner, owner node epoch, owner epoch,
    /// state version, stale beat's node epoch, stale beat (0 0: no heartbeat was seen). The rule of TakeoverRule.
    /// </summary>
    public const string Acquire = Prelude + """
        if redis.call('EXISTS', KEYS[1]) == 0 then return reply('NOT_FOUND', now) end
        local cur = redis.call('HMGET', KEYS[1], 'owner', 'nepoch', 'epoch', 'ver', 'rel')
        if cur[1] ~= ARGV[3] or cur[2] ~= ARGV[4] or cur[3] ~= ARGV[5] then return reply('OWNERSHIP_CONFLICT', now) end
        if cur[4] ~= ARGV[6] then return reply('STALE_STATE_VERSION', now) end
        local allowed = cur[5] == '1' or (cur[1] == ARGV[1] and tonumber(cur[2]) <= tonumber(ARGV[2]))
        if not allowed then
          local hb = redis.call('HGET', KEYS[2], cur[1])
          if not hb then
            allowed = ARGV[7] == '0' and ARGV[8] == '0'
          else
            local e, b = string.match(hb, '^(%d+)|(%d+)|')
            allowed = e ~= nil and (tonumber(e) > tonumber(cur[2]) or (e == ARGV[7] and b == ARGV[8]))
          end
        end
        if not allowed then return reply('OWNER_ALIVE', now) end
        redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'nepoch', ARGV[2], 'epoch', string.format('%d', tonumber(cur[3]) + 1), 'rel', '0')
        return reply('OK', now, cur[1])
        """;

    /// <summary>KEYS: record, ids by release time. ARGV: node, node epoch, epoch, id.</summary>
    public const string Release = Prelude + """
        if redis.call('EXISTS', KEYS[1]) == 0 then return reply('NOT_FOUND', now) end
        local cur = redis.call('HMGET', KEYS[1], 'owner', 'nepoch', 'epoch')
        if cur[1] ~= ARGV[1] or cur[2] ~= ARGV[2] or cur[3] ~= ARGV[3] then return reply('OWNERSHIP_CONFLICT', now) end
        redis.call('HSET', KEYS[1], 'rel', '1', 'relat', string.format('%d', now))
        redis.call('ZADD', KEYS[2], string.format('%d', now), ARGV[4])
        return reply('OK', now)
        """;

    /// <summary>
    /// docs/cluster.md "Record expiry". KEYS: ids by creation time, ids by release time, session set. ARGV: record key
    /// prefix, lifetime ms, released ms, tombstone ms, max per kind, the TERMINATED state, the lifetime reason, the
    /// released reason. Takes at most max due ids of each sorted set (O(due)), drops each entry, and turns the record
    /// into a tombstone if it is still due: not terminated (created before the cutoff, by the entry); resp. still released by
    /// that release (`relat` not after the cutoff). Answers {store_now_ms, id...} of the tombstones written.
    /// </summary>
    public const string Reap = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local out = {string.format('%d', now)}
        local max = tonumber(ARGV[5])
        local function tomb(key, id, reason)
          local v = tonumber(redis.call('HGET', key, 'ver') or '')
          if v == nil then return end
          redis.call('HSET', key, 'state', ARGV[6], 'ver', string.format('%d', v + 1), 'reason', reason, 'rel', '0')
          redis.call('PEXPIRE', key, ARGV[4])
          redis.call('SREM', KEYS[3], id)
          out[#out + 1] = id
        end
        local cutoff = now - tonumber(ARGV[2])
        local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', string.format('%d', cutoff), 'LIMIT', 0, max)
        for _, id in ipairs(ids) do
          redis.call('ZREM', KEYS[1], id)
          local key = ARGV[1] .. id
          local st = redis.call('HGET', key, 'state')
          if st and st ~= ARGV[6] then tomb(key, id, ARGV[7]) end
        end
        cutoff = now - tonumber(ARGV[3])
        ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', string.format('%d', cutoff), 'LIMIT', 0, max)
        for _, id in ipairs(ids) do
          redis.call('ZREM', KEYS[2], id)
          local key = ARGV[1] .. id
          local cur = redis.call('HMGET', key, 'state', 'rel', 'relat')
          if cur[1] and cur[1] ~= ARGV[6] and cur[2] == '1' and (tonumber(cur[3] or '') or cutoff + 1) <= cutoff then tomb(key, id, ARGV[8]) end
        end
        return out
        """;

    /// <summary>
    /// KEYS: node heartbeat hash. ARGV: node, node epoch, beat, draining (0/1), endpoint. Stores
    /// "epoch|beat|seen|draining|endpoint" (<see cref="NodeBeatCodec"/>); a late beat of an older incarnation
    /// does not replace a newer one's.
    /// </summary>
    public const string Heartbeat = Prelude + """
        local hb = redis.call('HGET', KEYS[1], ARGV[1])
        if hb then
          local e = string.match(hb, '^(%d+)|')
          if e and tonumber(e) > tonumber(ARGV[2]) then return {'OWNERSHIP_CONFLICT', string.format('%d', now), ''} end
        end
        redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. '|' .. ARGV[3] .. '|' .. string.format('%d', now) .. '|' .. ARGV[4] .. '|' .. ARGV[5])
        return {'OK', string.format('%d', now), ''}
        """;
}
