import Stash

extension PostgresStatements {
    /// The signature of the rate-limit function, for `to_regprocedure`: the store's migration creates it when missing.
    /// (A table migrated by an earlier release has the six-argument function too, which this one leaves in place for
    /// the instances still calling it.)
    static func rateLimitFunctionSignature(_ function: String) -> String {
        "\(function)(text, bytea, text, bigint, bigint, bigint, bigint, text, bigint, bigint)"
    }

    /// The revision of the rate-limit function's body, which it carries as a comment: a store whose table has an
    /// older one replaces it when it migrates. Raise it whenever the body changes.
    ///
    /// Revision 2 weighs a stored count, bucket or block this rule cannot reach (another rule's, or bytes someone
    /// else wrote) as full, as `RateLimitRule.decide` does, where revision 1 could overflow on it.
    static let rateLimitFunctionRevision = "stash rate-limit function, revision 2"

    /// The call of the rate-limit function: `$1` the namespace path, `$2` the key, `$3` the algorithm (`F`, `S` or
    /// `G`), `$4` the limit, `$5` the window in milliseconds, `$6` the burst (0 unless `G`), `$7` the rule's block in
    /// milliseconds (0 for none), `$8` the operation (`C` consume, `A` adjust, `R` refund, `B` block), `$9` its
    /// amount, `$10` a refund's window start (-1 for none).
    static func rateLimitFunctionCall(_ function: String) -> String {
        "SELECT allowed, \"limit\", remaining, reset_us, retry_after_us, window_start FROM \(function)($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    }

    /// The PL/pgSQL function that runs one rate-limit operation, as `RateLimitRule.decide(state:now:operation:)`
    /// does, with the same state in the `value` column, timed by the server's `clock_timestamp()` read once the row
    /// is locked.
    ///
    /// It locks the key's row (`SELECT … FOR UPDATE`), so concurrent decisions on one key take turns; a key without a
    /// row is inserted with `ON CONFLICT DO NOTHING`, and when another call inserted it first the decision is made
    /// again under that row's lock. An expired row, or a value that is not this algorithm's state, counts as no
    /// state; a refused request writes nothing unless the rule blocks. It answers what the Redis script answers:
    /// whether the request is admitted, the limit (the burst for `G`), the requests remaining, the microseconds until
    /// the limit resets and, for a refused request, until it would be admitted (else -1), and the start of the window
    /// an admitted request counted in (else -1).
    static func rateLimitFunctionDefinition(table: String, function: String) -> String {
        """
        CREATE OR REPLACE FUNCTION \(function)(
            entry_namespace text, entry_key bytea, algorithm text, request_limit bigint, window_ms bigint, burst bigint,
            block_ms bigint, operation_code text, amount bigint, operation_window bigint,
            OUT allowed boolean, OUT "limit" bigint, OUT remaining bigint, OUT reset_us bigint, OUT retry_after_us bigint,
            OUT window_start bigint
        ) LANGUAGE plpgsql VOLATILE AS $function$
        -- \(Self.rateLimitFunctionRevision)
        DECLARE
            stored bytea;
            stored_expiry timestamptz;
            has_row boolean;
            clock timestamptz;
            now_us bigint;
            now_ms bigint;
            fields text[];
            numbers bigint[];
            field_count integer;
            start_ms bigint;
            count_value bigint;
            previous bigint;
            current bigint;
            overlap bigint;
            budget bigint;
            wait_cost bigint;
            wait_ms bigint;
            emission bigint;
            capacity bigint;
            tat bigint;
            has_state boolean;
            next_tat bigint;
            allowed_at bigint;
            refusing boolean;
            new_state text;
            expiry_us bigint;
        BEGIN
            LOOP
                SELECT value, expires_at INTO stored, stored_expiry
                FROM \(table) WHERE namespace = entry_namespace AND key = entry_key FOR UPDATE;
                has_row := FOUND;
                clock := clock_timestamp();
                now_us := floor(extract(epoch FROM clock))::bigint * 1000000 + extract(microseconds FROM clock)::bigint % 1000000;
                now_ms := now_us / 1000;

                -- The state's fields, split at every space; numbers[i] is fields[i] as a 64-bit integer, or NULL.
                fields := '{}';
                numbers := '{}';
                IF has_row AND (stored_expiry IS NULL OR stored_expiry > clock) AND octet_length(stored) <= 64 THEN
                    -- 'escape' leaves printable ASCII as it is and turns any other byte into a backslash sequence,
                    -- which no field may hold.
                    fields := string_to_array(encode(stored, 'escape'), ' ');
                END IF;
                field_count := coalesce(array_length(fields, 1), 0);
                FOR i IN 1..field_count LOOP
                    numbers[i] := NULL;
                    IF fields[i] ~ '^[+-]?[0-9]+$' THEN
                        IF fields[i]::numeric BETWEEN -9223372036854775808 AND 9223372036854775807 THEN
                            numbers[i] := fields[i]::numeric::bigint;
                        END IF;
                    END IF;
                END LOOP;

                "limit" := CASE WHEN algorithm = 'G' THEN burst ELSE request_limit END;
                window_start := -1;
                refusing := false;
                new_state := NULL;
                wait_cost := 0;
                IF field_count = 2 AND fields[1] = 'B' AND numbers[2] > now_ms THEN
                    -- Blocked: refused whatever the operation, which changes nothing unless it blocks for longer. A
                    -- block longer than any operation sets (bytes someone else wrote) lasts the longest one can.
                    allowed := false;
                    remaining := 0;
                    IF operation_code = 'B' AND amount > least(numbers[2] - now_ms, \(RateLimitRule.maximumBlockMilliseconds)) THEN
                        reset_us := amount * 1000;
                        new_state := 'B ' || (now_ms + amount);
                        expiry_us := now_us + amount * 1000;
                    ELSE
                        reset_us := least(numbers[2] - now_ms, \(RateLimitRule.maximumBlockMilliseconds)) * 1000;
                    END IF;
                    retry_after_us := reset_us;
                ELSIF operation_code = 'B' THEN
                    allowed := false;
                    remaining := 0;
                    reset_us := amount * 1000;
                    retry_after_us := reset_us;
                    new_state := 'B ' || (now_ms + amount);
                    expiry_us := now_us + amount * 1000;
                ELSIF algorithm = 'F' THEN
                    start_ms := now_ms - ((now_ms % window_ms) + window_ms) % window_ms;
                    count_value := 0;
                    IF field_count = 3 AND fields[1] = 'F' AND numbers[2] = start_ms AND numbers[3] IS NOT NULL THEN
                        -- A count this rule cannot reach (another rule's, or bytes someone else wrote) is a full
                        -- window: no arithmetic on it may overflow.
                        count_value := least(greatest(numbers[3], 0), request_limit);
                    END IF;
                    reset_us := (start_ms + window_ms - now_ms) * 1000;
                    -- The end of the window.
                    expiry_us := (start_ms + window_ms) * 1000;
                    IF operation_code = 'C' THEN
                        IF count_value + amount > request_limit THEN
                            refusing := true;
                            retry_after_us := reset_us;
                        ELSE
                            count_value := count_value + amount;
                            allowed := true;
                            remaining := request_limit - count_value;
                            retry_after_us := -1;
                            window_start := start_ms;
                            new_state := 'F ' || start_ms || ' ' || count_value;
                        END IF;
                    ELSE
                        IF operation_code = 'A' THEN
                            count_value := least(greatest(count_value + amount, 0), request_limit);
                            new_state := 'F ' || start_ms || ' ' || count_value;
                        ELSIF operation_window = start_ms AND count_value > 0 THEN
                            count_value := greatest(count_value - amount, 0);
                            new_state := 'F ' || start_ms || ' ' || count_value;
                        END IF;
                        allowed := count_value < request_limit;
                        remaining := greatest(0, request_limit - count_value);
                        retry_after_us := CASE WHEN allowed THEN -1 ELSE reset_us END;
                    END IF;
                ELSIF algorithm = 'S' THEN
                    start_ms := now_ms - ((now_ms % window_ms) + window_ms) % window_ms;
                    previous := 0;
                    current := 0;
                    IF field_count = 4 AND fields[1] = 'S' AND numbers[2] IS NOT NULL AND numbers[3] IS NOT NULL
                        AND numbers[4] IS NOT NULL THEN
                        IF numbers[2] = start_ms THEN
                            previous := least(greatest(numbers[3], 0), request_limit);
                            current := least(greatest(numbers[4], 0), request_limit);
                        ELSIF numbers[2] = start_ms - window_ms THEN
                            previous := least(greatest(numbers[4], 0), request_limit);
                        END IF;
                    END IF;
                    -- The previous window's overlap with the last window of time, in 1...window_ms.
                    overlap := window_ms - (now_ms - start_ms);
                    budget := request_limit * window_ms - previous * overlap;
                    reset_us := overlap * 1000;
                    -- The count is still needed as the previous window's throughout the next one.
                    expiry_us := (start_ms + 2 * window_ms) * 1000;
                    retry_after_us := -1;
                    IF operation_code = 'C' THEN
                        IF (current + amount) * window_ms > budget THEN
                            refusing := true;
                            wait_cost := amount;
                        ELSE
                            current := current + amount;
                            allowed := true;
                            remaining := greatest(0, (budget - current * window_ms) / window_ms);
                            window_start := start_ms;
                            new_state := 'S ' || start_ms || ' ' || previous || ' ' || current;
                        END IF;
                    ELSE
                        IF operation_code = 'A' THEN
                            current := least(greatest(current + amount, 0), request_limit);
                            new_state := 'S ' || start_ms || ' ' || previous || ' ' || current;
                        ELSIF operation_window = start_ms AND current > 0 THEN
                            current := greatest(current - amount, 0);
                            new_state := 'S ' || start_ms || ' ' || previous || ' ' || current;
                        ELSIF operation_window = start_ms - window_ms AND previous > 0 THEN
                            previous := greatest(previous - amount, 0);
                            budget := request_limit * window_ms - previous * overlap;
                            new_state := 'S ' || start_ms || ' ' || previous || ' ' || current;
                        END IF;
                        remaining := greatest(0, (budget - current * window_ms) / window_ms);
                        allowed := (current + 1) * window_ms <= budget;
                        IF NOT allowed THEN
                            wait_cost := 1;
                        END IF;
                    END IF;
                    IF wait_cost > 0 THEN
                        IF current + wait_cost <= request_limit THEN
                            wait_ms := least(overlap, ((current + wait_cost) * window_ms - budget + previous - 1) / previous);
                        ELSE
                            wait_ms := overlap + (window_ms * (current - request_limit + wait_cost) + current - 1) / current;
                        END IF;
                        retry_after_us := greatest(wait_ms, 1) * 1000;
                    END IF;
                ELSIF algorithm = 'G' THEN
                    -- In microseconds; the emission interval is rounded up, so the rate is never above the limit.
                    emission := (window_ms * 1000 + request_limit - 1) / request_limit;
                    capacity := burst * emission;
                    tat := now_us;
                    has_state := field_count = 2 AND fields[1] = 'G' AND numbers[2] > now_us;
                    IF has_state THEN
                        -- A bucket emptier than empty (another rule's, or bytes someone else wrote) is empty.
                        tat := least(numbers[2], now_us + capacity);
                    END IF;
                    IF operation_code = 'C' THEN
                        next_tat := tat + amount * emission;
                        allowed_at := next_tat - capacity;
                        IF allowed_at > now_us THEN
                            refusing := true;
                            reset_us := tat - now_us;
                            retry_after_us := allowed_at - now_us;
                        ELSE
                            allowed := true;
                            remaining := (now_us + capacity - next_tat) / emission;
                            reset_us := next_tat - now_us;
                            retry_after_us := -1;
                            new_state := 'G ' || next_tat;
                            expiry_us := now_us + greatest(1, (next_tat - now_us + 999) / 1000) * 1000;
                        END IF;
                    ELSE
                        IF operation_code = 'A' THEN
                            tat := least(greatest(tat + amount * emission, now_us), now_us + capacity);
                            new_state := 'G ' || tat;
                        ELSIF has_state THEN
                            tat := greatest(tat - amount * emission, now_us);
                            new_state := 'G ' || tat;
                        END IF;
                        allowed_at := tat + emission - capacity;
                        allowed := allowed_at <= now_us;
                        remaining := greatest(0, now_us + capacity - tat) / emission;
                        reset_us := tat - now_us;
                        retry_after_us := CASE WHEN allowed THEN -1 ELSE allowed_at - now_us END;
                        expiry_us := now_us + greatest(1, (tat - now_us + 999) / 1000) * 1000;
                    END IF;
                ELSE
                    RAISE EXCEPTION 'unknown rate-limit algorithm %', algorithm USING ERRCODE = '22023';
                END IF;

                IF refusing THEN
                    allowed := false;
                    remaining := 0;
                    IF block_ms > 0 THEN
                        -- The rule blocks the key a refused request came from.
                        reset_us := block_ms * 1000;
                        retry_after_us := reset_us;
                        new_state := 'B ' || (now_ms + block_ms);
                        expiry_us := now_us + block_ms * 1000;
                    END IF;
                END IF;
                IF new_state IS NULL THEN
                    RETURN;
                END IF;
                IF has_row THEN
                    UPDATE \(table) SET value = convert_to(new_state, 'UTF8'), expires_at = clock + (expiry_us - now_us) * interval '1 microsecond'
                    WHERE namespace = entry_namespace AND key = entry_key;
                    RETURN;
                END IF;
                INSERT INTO \(table) (namespace, key, value, expires_at)
                VALUES (entry_namespace, entry_key, convert_to(new_state, 'UTF8'), clock + (expiry_us - now_us) * interval '1 microsecond')
                ON CONFLICT (namespace, key) DO NOTHING;
                IF FOUND THEN
                    RETURN;
                END IF;
                -- Another call inserted the row since this one looked: decide again, under that row's lock.
            END LOOP;
        END
        $function$
        """
    }
}
