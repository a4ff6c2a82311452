namespace JumpingVpn.Control.Cluster;

/// <summary>
/// The Lua scripts of <see cref="RedisSessionStore"/>. Redis runs a script atomically (no other command
/// interleaves), so each check-then-write below is one compare-and-swap (docs/session-spec.md §5.2.3). Time is the
/// Redis server's own clock (TIME), the single clock every node's lease is measured on. Numbers are written
/// with %d: Lua's tostring would print 1.7e+12 for a Unix-ms value.
/// Every script answers {status, store_now_ms, previous_owner, field1, value1, ...} (the record after the
/// operation, or as it stands when the operation lost).
/// Garbage collection: a live record expires 10 minutes after its lease (create, acquire and renew push
/// that out), so a session nobody owns any more (its node died and no client came back within
/// transport_lost_ttl, or it was released and replaced) leaves the store by itself; a TERMINATED one is
/// kept only for the tombstone time.
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
        local retain = 600000
        local function keep(lease) redis.call('PEXPIREAT', KEYS[1], string.format('%d', math.max(lease, now) + retain)) end

        """;

    /// <summary>KEYS: record. A read in one synchronous round trip, with the store's clock.</summary>
    public const string Read = Prelude + """
        if redis.call('EXISTS', KEYS[1]) == 0 then return reply('NOT_FOUND', now) end
        return reply('OK', now)
        """;

    /// <summary>KEYS: record, session set. ARGV: lease_ms, id, field/value pairs.</summary>
    public const string Create = Prelude + """
        if redis.call('EXISTS', KEYS[1]) == 1 then return reply('ALREADY_EXISTS', now) end
        redis.call('HSET', KEYS[1], unpack(ARGV, 3))
        redis.call('HSET', KEYS[1], 'epoch', '1', 'lease', string.format('%d', now + tonumber(ARGV[1])))
        keep(now + tonumber(ARGV[1]))
        redis.call('SADD', KEYS[2], ARGV[2])
        return reply('OK', now)
        """;

    /// <summary>KEYS: record, session set. ARGV: expected version, owner, epoch, terminated (0/1), tombstone_ms, id, field/value pairs.</summary>
    public const string CompareAndSwap = Prelude + """
        if redis.call('EXISTS', KEYS[1]) == 0 then return reply('NOT_FOUND', now) end
        local cur = redis.call('HMGET', KEYS[1], 'owner', 'epoch', 'ver')
        if cur[1] ~= ARGV[2] or cur[2] ~= ARGV[3] then return reply('OWNERSHIP_CONFLICT', now) end
        if cur[3] ~= ARGV[1] then return reply('STALE_STATE_VERSION', now) end
        redis.call('HSET', KEYS[1], unpack(ARGV, 7))
        if ARGV[4] == '1' then
          redis.call('PEXPIRE', KEYS[1], ARGV[5])
          redis.call('SREM', KEYS[2], ARGV[6])
        end
        return reply('OK', now)
        """;

    /// <summary>KEYS: record. ARGV: node, lease_ms.</summary>
    public const string Acquire = Prelude + """
        if redis.call('EXISTS', KEYS[1]) == 0 then return reply('NOT_FOUND', now) end
        local cur = redis.call('HMGET', KEYS[1], 'owner', 'epoch', 'lease')
        if cur[1] ~= ARGV[1] and tonumber(cur[3]) > now then return reply('LEASE_HELD', now) end
        redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'epoch', string.format('%d', tonumber(cur[2]) + 1),
          'lease', string.format('%d', now + tonumber(ARGV[2])))
        keep(now + tonumber(ARGV[2]))
        return reply('OK', now, cur[1])
        """;

    /// <summary>KEYS: record. ARGV: node, epoch, lease_ms (0 = release).</summary>
    public const string Renew = Prelude + """
        if redis.call('EXISTS', KEYS[1]) == 0 then return reply('NOT_FOUND', now) end
        local cur = redis.call('HMGET', KEYS[1], 'owner', 'epoch')
        if cur[1] ~= ARGV[1] or cur[2] ~= ARGV[2] then return reply('OWNERSHIP_CONFLICT', now) end
        local lease = 0
        if tonumber(ARGV[3]) > 0 then lease = now + tonumber(ARGV[3]) end
        redis.call('HSET', KEYS[1], 'lease', string.format('%d', lease))
        if redis.call('HGET', KEYS[1], 'state') ~= '5' then keep(lease) end
        return reply('OK', now)
        """;

    /// <summary>KEYS: node hash. ARGV: node, ttl_ms, detail. Stores "expires|seen|detail".</summary>
    public const string Heartbeat = Prelude + """
        redis.call('HSET', KEYS[1], ARGV[1], string.format('%d', now + tonumber(ARGV[2])) .. '|' .. string.format('%d', now) .. '|' .. ARGV[3])
        return {'OK', string.format('%d', now), ''}
        """;

    /// <summary>KEYS: node hash. Answers {OK, now, '', node1, value1, ...}, dropping nodes whose announcement expired.</summary>
    public const string ListNodes = Prelude + """
        return reply('OK', now)
        """;
}
