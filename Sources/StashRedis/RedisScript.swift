/// A Lua script the store runs server-side, by `EVALSHA` (falling back to `EVAL`, which also loads it, when the
/// server answers `NOSCRIPT`: after a restart or `SCRIPT FLUSH`).
struct RedisScript: Sendable {
    let source: String
    let sha1: String

    init(_ source: String) {
        self.source = source
        self.sha1 = SHA1.hexDigest(source.utf8)
    }

    /// Get renewing: resets the expiry of a key that has one; a key without stays without. One round trip, atomic.
    static let getRenewing = RedisScript(
        """
        local value = redis.call('GET', KEYS[1])
        if value and redis.call('PTTL', KEYS[1]) > 0 then
          redis.call('PEXPIRE', KEYS[1], ARGV[1])
        end
        return value
        """
    )

    /// Increment, creating the counter (with its expiry) when missing. The new counter's value is computed by the
    /// client (ARGV[2], overflow already checked), because a script's writes are not undone when a later command in
    /// it fails: nothing here writes before it knows it will succeed.
    /// Returns the new value's digits. Not INCRBY's integer: in Lua that is a double, and Int64.min + 1 would come
    /// back as Int64.min.
    static let increment = RedisScript(
        """
        if redis.call('EXISTS', KEYS[1]) == 0 then
          if ARGV[3] ~= '' then
            redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
          else
            redis.call('SET', KEYS[1], ARGV[2])
          end
          return ARGV[2]
        end
        redis.call('INCRBY', KEYS[1], ARGV[1])
        return redis.call('GET', KEYS[1])
        """
    )

    /// Compare-and-set for update: applies the action only if the value is still the one the transform saw
    /// (ARGV[1] '1' and ARGV[2] the value, or ARGV[1] '0' for a missing key). Returns 1 when applied, 0 on conflict.
    /// ARGV[3] is 'delete', 'keep' (keep the remaining expiry) or 'set' (ARGV[5]: milliseconds, or '' for none).
    static let compareAndSet = RedisScript(
        """
        local current = redis.call('GET', KEYS[1])
        if ARGV[1] == '1' then
          if current ~= ARGV[2] then return 0 end
        elseif current then
          return 0
        end
        if ARGV[3] == 'delete' then
          redis.call('DEL', KEYS[1])
        elseif ARGV[3] == 'keep' then
          redis.call('SET', KEYS[1], ARGV[4], 'KEEPTTL')
        elseif ARGV[5] ~= '' then
          redis.call('SET', KEYS[1], ARGV[4], 'PX', ARGV[5])
        else
          redis.call('SET', KEYS[1], ARGV[4])
        end
        return 1
        """
    )
}
