import Crypto
import Stash

/// A Lua script the store runs server-side, by `EVALSHA` (falling back to `EVAL`, which also loads it, when the
/// server answers `NOSCRIPT`: after a restart or `SCRIPT FLUSH`).
struct RedisScript: Sendable {
    let source: String
    let sha1: String

    init(_ source: String) {
        self.source = source
        self.sha1 = Insecure.SHA1.hexDigest(source.utf8)
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

    /// A read for the near cache: the value and its remaining time to live in milliseconds (-1: none), in one atomic
    /// step, so the copy kept never outlives the key; false for a missing key. The keys a script reads are tracked
    /// for the connection that called it, as a `GET`'s are.
    static let getWithExpiry = RedisScript(
        """
        local value = redis.call('GET', KEYS[1])
        if not value then return false end
        return {value, redis.call('PTTL', KEYS[1])}
        """
    )

    /// A record read for the near cache: `HGETALL`'s fields and the key's remaining time to live, as
    /// ``getWithExpiry`` does for a value; false for a missing key.
    static let recordWithExpiry = RedisScript(
        """
        local fields = redis.call('HGETALL', KEYS[1])
        if #fields == 0 then return false end
        return {fields, redis.call('PTTL', KEYS[1])}
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

extension RedisScript {
    /// A rate-limit decision, as ``Stash/RateLimitRule/decide(state:now:)`` makes it, on the server's clock (`TIME`)
    /// in one atomic step. ARGV: algorithm (`F`, `S` or `G`), limit, window in milliseconds, burst.
    /// Returns `{allowed (0 or 1), limit, remaining, reset in µs, retry after in µs or -1}`.
    static let rateLimit = RedisScript(
        """
        local t = redis.call('TIME')
        local nowUs = tonumber(t[1]) * 1000000 + tonumber(t[2])
        local nowMs = math.floor(nowUs / 1000)
        local algorithm = ARGV[1]
        local limit = tonumber(ARGV[2])
        local window = tonumber(ARGV[3])
        local f = {}
        local state = redis.call('GET', KEYS[1])
        if state and #state <= 64 then
          for word in string.gmatch(state, '%S+') do f[#f + 1] = word end
        end
        local function n(x) return string.format('%d', x) end
        if algorithm == 'F' then
          local start = nowMs - nowMs % window
          local count = 0
          if f[1] == 'F' and tonumber(f[2]) == start and tonumber(f[3]) then count = tonumber(f[3]) end
          local reset = start + window - nowMs
          if count >= limit then return {0, limit, 0, reset * 1000, reset * 1000} end
          count = count + 1
          redis.call('SET', KEYS[1], 'F ' .. n(start) .. ' ' .. n(count), 'PX', n(reset))
          return {1, limit, limit - count, reset * 1000, -1}
        elseif algorithm == 'S' then
          local start = nowMs - nowMs % window
          local previous, current = 0, 0
          if f[1] == 'S' and tonumber(f[2]) and tonumber(f[3]) and tonumber(f[4]) then
            if tonumber(f[2]) == start then
              previous = tonumber(f[3])
              current = tonumber(f[4])
            elseif tonumber(f[2]) == start - window then
              previous = tonumber(f[4])
            end
          end
          local overlap = window - (nowMs - start)
          local budget = limit * window - previous * overlap
          if (current + 1) * window > budget then
            local wait
            if current + 1 <= limit then
              local excess = (current + 1) * window - budget
              wait = math.min(overlap, math.floor((excess + previous - 1) / previous))
            else
              wait = overlap + math.floor((window * (current - limit + 1) + current - 1) / current)
            end
            if wait < 1 then wait = 1 end
            return {0, limit, 0, overlap * 1000, wait * 1000}
          end
          current = current + 1
          redis.call('SET', KEYS[1], 'S ' .. n(start) .. ' ' .. n(previous) .. ' ' .. n(current), 'PX', n(overlap + window))
          local remaining = math.floor((budget - current * window) / window)
          if remaining < 0 then remaining = 0 end
          return {1, limit, remaining, overlap * 1000, -1}
        else
          local burst = tonumber(ARGV[4])
          local interval = math.floor((window * 1000 + limit - 1) / limit)
          local capacity = burst * interval
          local tat = nowUs
          if f[1] == 'G' and tonumber(f[2]) and tonumber(f[2]) > nowUs then tat = tonumber(f[2]) end
          local nextTat = tat + interval
          local allowedAt = nextTat - capacity
          if allowedAt > nowUs then return {0, burst, 0, tat - nowUs, allowedAt - nowUs} end
          local keep = math.floor((nextTat - nowUs + 999) / 1000)
          if keep < 1 then keep = 1 end
          redis.call('SET', KEYS[1], 'G ' .. n(nextTat), 'PX', n(keep))
          return {1, burst, math.floor((nowUs + capacity - nextTat) / interval), nextTat - nowUs, -1}
        end
        """
    )
}
