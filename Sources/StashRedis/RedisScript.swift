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
    /// A rate-limit operation, as ``/Stash/RateLimitRule/decide(state:now:operation:)`` runs it, on the server's clock
    /// (`TIME`) in one atomic step. ARGV: algorithm (`F`, `S` or `G`), limit, window in milliseconds, burst, the
    /// rule's block in milliseconds (0 for none), the operation (`C` consume, `A` adjust, `R` refund, `B` block), its
    /// amount, and a refund's window start (-1 for none). Returns `{allowed (0 or 1), limit, remaining, reset in µs,
    /// retry after in µs or -1, the start of the window an admitted request counted in or -1}`.
    static let rateLimit = RedisScript(
        """
        local t = redis.call('TIME')
        local nowUs = tonumber(t[1]) * 1000000 + tonumber(t[2])
        local nowMs = math.floor(nowUs / 1000)
        local algorithm = ARGV[1]
        local limit = tonumber(ARGV[2])
        local window = tonumber(ARGV[3])
        local blockMs = tonumber(ARGV[5])
        local op = ARGV[6]
        local amount = tonumber(ARGV[7])
        local opWindow = tonumber(ARGV[8])
        local maxCost = limit
        if algorithm == 'G' then maxCost = tonumber(ARGV[4]) end
        local maxBlock = \(RateLimitRule.maximumBlockMilliseconds)
        -- The state's tag and numbers, read as RateLimitState reads them: one byte, then integers that fit in 64
        -- bits, each after one space; anything else is no state.
        local f = {}
        local state = redis.call('GET', KEYS[1])
        if state and #state >= 3 and #state <= 64 and string.sub(state, 2, 2) == ' ' then
          f[1] = string.sub(state, 1, 1)
          for word in string.gmatch(string.sub(state, 3) .. ' ', '([^ ]*) ') do
            local sign, digits = string.match(word, '^([+-]?)0*(%d+)$')
            local most = '9223372036854775807'
            if sign == '-' then most = '9223372036854775808' end
            if not digits or #digits > 19 or (#digits == 19 and digits > most) or #f == 4 then
              f = {}
              break
            end
            f[#f + 1] = tonumber(digits)
            if sign == '-' then f[#f] = -f[#f] end
          end
        end
        local function counted(x) return math.min(math.max(x, 0), limit) end
        local function n(x) return string.format('%d', x) end
        local function block(ms)
          redis.call('SET', KEYS[1], 'B ' .. n(nowMs + ms), 'PX', n(ms))
          return {0, maxCost, 0, ms * 1000, ms * 1000, -1}
        end
        local function refused(reset, retry)
          if blockMs > 0 then return block(blockMs) end
          return {0, maxCost, 0, reset, retry, -1}
        end
        if f[1] == 'B' and #f == 2 and f[2] > nowMs then
          local left = math.min(f[2] - nowMs, maxBlock)
          if op == 'B' and amount > left then return block(amount) end
          return {0, maxCost, 0, left * 1000, left * 1000, -1}
        end
        if op == 'B' then return block(amount) end
        if algorithm == 'F' then
          local start = nowMs - nowMs % window
          local count = 0
          if f[1] == 'F' and #f == 3 and f[2] == start then count = counted(f[3]) end
          local reset = start + window - nowMs
          local function save() redis.call('SET', KEYS[1], 'F ' .. n(start) .. ' ' .. n(count), 'PX', n(reset)) end
          if op == 'C' then
            if count + amount > limit then return refused(reset * 1000, reset * 1000) end
            count = count + amount
            save()
            return {1, limit, limit - count, reset * 1000, -1, start}
          end
          if op == 'A' then
            count = math.min(math.max(count + amount, 0), limit)
            save()
          elseif opWindow == start and count > 0 then
            count = math.max(count - amount, 0)
            save()
          end
          if count < limit then return {1, limit, limit - count, reset * 1000, -1, -1} end
          return {0, limit, 0, reset * 1000, reset * 1000, -1}
        elseif algorithm == 'S' then
          local start = nowMs - nowMs % window
          local previous, current = 0, 0
          if f[1] == 'S' and #f == 4 then
            if f[2] == start then
              previous = counted(f[3])
              current = counted(f[4])
            elseif f[2] == start - window then
              previous = counted(f[4])
            end
          end
          local overlap = window - (nowMs - start)
          local budget = limit * window - previous * overlap
          local function wait(cost)
            local w
            if current + cost <= limit then
              w = math.min(overlap, math.floor(((current + cost) * window - budget + previous - 1) / previous))
            else
              w = overlap + math.floor((window * (current - limit + cost) + current - 1) / current)
            end
            if w < 1 then w = 1 end
            return w * 1000
          end
          local function save()
            redis.call('SET', KEYS[1], 'S ' .. n(start) .. ' ' .. n(previous) .. ' ' .. n(current), 'PX', n(overlap + window))
          end
          if op == 'C' then
            if (current + amount) * window > budget then return refused(overlap * 1000, wait(amount)) end
            current = current + amount
            save()
            return {1, limit, math.max(0, math.floor((budget - current * window) / window)), overlap * 1000, -1, start}
          end
          if op == 'A' then
            current = math.min(math.max(current + amount, 0), limit)
            save()
          elseif opWindow == start and current > 0 then
            current = math.max(current - amount, 0)
            save()
          elseif opWindow == start - window and previous > 0 then
            previous = math.max(previous - amount, 0)
            budget = limit * window - previous * overlap
            save()
          end
          local remaining = math.max(0, math.floor((budget - current * window) / window))
          if (current + 1) * window <= budget then return {1, limit, remaining, overlap * 1000, -1, -1} end
          return {0, limit, remaining, overlap * 1000, wait(1), -1}
        else
          local burst = maxCost
          local interval = math.floor((window * 1000 + limit - 1) / limit)
          local capacity = burst * interval
          local tat = nowUs
          local stored = f[1] == 'G' and #f == 2 and f[2] > nowUs
          if stored then tat = math.min(f[2], nowUs + capacity) end
          local function save(at)
            local keep = math.floor((at - nowUs + 999) / 1000)
            if keep < 1 then keep = 1 end
            redis.call('SET', KEYS[1], 'G ' .. n(at), 'PX', n(keep))
          end
          if op == 'C' then
            local nextTat = tat + amount * interval
            local allowedAt = nextTat - capacity
            if allowedAt > nowUs then return refused(tat - nowUs, allowedAt - nowUs) end
            save(nextTat)
            return {1, burst, math.floor((nowUs + capacity - nextTat) / interval), nextTat - nowUs, -1, -1}
          end
          if op == 'A' then
            tat = math.min(math.max(tat + amount * interval, nowUs), nowUs + capacity)
            save(tat)
          elseif stored then
            tat = math.max(tat - amount * interval, nowUs)
            save(tat)
          end
          local allowedAt = tat + interval - capacity
          local remaining = math.floor(math.max(0, nowUs + capacity - tat) / interval)
          if allowedAt <= nowUs then return {1, burst, remaining, tat - nowUs, -1, -1} end
          return {0, burst, remaining, tat - nowUs, allowedAt - nowUs, -1}
        end
        """
    )
}
