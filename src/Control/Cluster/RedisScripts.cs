namespace JumpingVpn.Control.Cluster;

/// <summary>
/// The Lua scripts of <see cref="RedisSessionStore"/>. Redis runs a script atomically (no other command
/// interleaves), so each check-then-write below is one compare-and-swap (docs/session-spec.md §5.2.3), and the
/// acquire reads the owner's heartbeat in the same step (docs/cluster.md "Failover"). Numbers are written with
/// %d: Lua's tostring would print 1.7e+12 for a Unix-ms value.
/// Every session script answers {status, store_now_ms, previous_owner, field1, value1, ...} (the record after
/// the operation, or as it stands when the operation lost).
/// Garbage collection: a TERMINATED record is kept only for the tombstone time; live records have no expiry
/// (there is no per-session lease to hang one on; docs/cluster.md "Not done yet").
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

    /// <summary>KEYS: record, session set. ARGV: id, field/value pairs (owner and node epoch among them).</summary>
    public const string Create = Prelude + """
        if redis.call('EXISTS', KEYS[1]) == 1 then return reply('ALREADY_EXISTS', now) end
        redis.call('HSET', KEYS[1], unpack(ARGV, 2))
        redis.call('HSET', KEYS[1], 'epoch', '1', 'rel', '0')
        redis.call('SADD', KEYS[2], ARGV[1])
        return reply('OK', now)
        """;

    /// <summary>KEYS: record, session set. ARGV: expected version, owner, node epoch, epoch, terminated (0/1), tombstone_ms, id, field/value pairs.</summary>
    public const string CompareAndSwap = Prelude + """
        if redis.call('EXISTS', KEYS[1]) == 0 then return reply('NOT_FOUND', now) end
        local cur = redis.call('HMGET', KEYS[1], 'owner', 'nepoch', 'epoch', 'ver', 'rel')
        if cur[1] ~= ARGV[2] or cur[2] ~= ARGV[3] or cur[3] ~= ARGV[4] or cur[5] == '1' then return reply('OWNERSHIP_CONFLICT', now) end
        if cur[4] ~= ARGV[1] then return reply('STALE_STATE_VERSION', now) end
        redis.call('HSET', KEYS[1], unpack(ARGV, 8))
        if ARGV[5] == '1' then
          redis.call('PEXPIRE', KEYS[1], ARGV[6])
          redis.call('SREM', KEYS[2], ARGV[7])
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

    /// <summary>KEYS: record. ARGV: node, node epoch, epoch.</summary>
    public const string Release = Prelude + """
        if redis.call('EXISTS', KEYS[1]) == 0 then return reply('NOT_FOUND', now) end
        local cur = redis.call('HMGET', KEYS[1], 'owner', 'nepoch', 'epoch')
        if cur[1] ~= ARGV[1] or cur[2] ~= ARGV[2] or cur[3] ~= ARGV[3] then return reply('OWNERSHIP_CONFLICT', now) end
        redis.call('HSET', KEYS[1], 'rel', '1')
        return reply('OK', now)
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
