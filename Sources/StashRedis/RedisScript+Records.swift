extension RedisScript {
    /// Lua helpers of the record scripts: a command over a range of ARGV, in chunks, so that no `unpack` exceeds
    /// Lua's stack however many fields a record has. `step` is even for field/value pairs.
    static let chunked = """
        local function chunked(command, key, from, to, step)
          local i = from
          while i <= to do
            local last = math.min(i + step - 1, to)
            redis.call(command, key, unpack(ARGV, i, last))
            i = last + 1
          end
        end
        """

    /// A record with its expiry renewed: `HGETALL`, then, when the record has an expiry, `PEXPIRE` ARGV[1].
    /// Returns the fields and values (empty when the record is missing).
    static let recordRenewing = RedisScript(
        """
        local fields = redis.call('HGETALL', KEYS[1])
        if #fields > 0 and redis.call('PTTL', KEYS[1]) > 0 then
          redis.call('PEXPIRE', KEYS[1], ARGV[1])
        end
        return fields
        """
    )

    /// Insert a record when the key is missing (or expired): ARGV[1] the time to live in milliseconds or '', then
    /// field/value pairs. Returns 1 when stored, 0 when a live key existed.
    static let insertRecord = RedisScript(
        chunked + """

            if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
            chunked('HSET', KEYS[1], 2, #ARGV, 1000)
            if ARGV[1] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
            return 1
            """
    )

    /// Merge into an existing record: ARGV[1] the expiry ('keep', 'persist', or a time to live in milliseconds),
    /// ARGV[2] the number of field/value arguments, ARGV[3] the number of metadata fields, then the field/value
    /// pairs, the metadata fields, and the fields to remove. Removes, then sets; the first write fails on a key of
    /// another type before anything is written. Returns 0 when the record was missing (nothing written), 1 when
    /// merged, 2 when it was deleted: its last field removed (Redis deletes an empty hash), or every field left is
    /// metadata.
    static let mergeRecord = RedisScript(
        chunked + """

            if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
            local pairs = tonumber(ARGV[2])
            local metadata = tonumber(ARGV[3])
            local removals = 4 + pairs + metadata
            if #ARGV >= removals then chunked('HDEL', KEYS[1], removals, #ARGV, 1000) end
            if pairs > 0 then chunked('HSET', KEYS[1], 4, 3 + pairs, 1000) end
            local length = redis.call('HLEN', KEYS[1])
            if length == 0 then return 2 end
            if metadata > 0 and length <= metadata then
              local left = 0
              for i = 4 + pairs, 3 + pairs + metadata do
                left = left + redis.call('HEXISTS', KEYS[1], ARGV[i])
              end
              if left == length then
                redis.call('DEL', KEYS[1])
                return 2
              end
            end
            if ARGV[1] == 'persist' then
              redis.call('PERSIST', KEYS[1])
            elseif ARGV[1] ~= 'keep' then
              redis.call('PEXPIRE', KEYS[1], ARGV[1])
            end
            return 1
            """
    )

    /// Take a record: its fields and values, and the key deleted. Returns an empty array when it was missing.
    static let takeRecord = RedisScript(
        """
        local fields = redis.call('HGETALL', KEYS[1])
        if #fields > 0 then redis.call('DEL', KEYS[1]) end
        return fields
        """
    )
}
