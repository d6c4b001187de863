extension PostgresStatements {
    /// The signature of the rate-limit function, for `to_regprocedure`: the store's migration creates it when missing.
    static func rateLimitFunctionSignature(_ function: String) -> String {
        "\(function)(text, bytea, text, bigint, bigint, bigint)"
    }

    /// The call of the rate-limit function: `$1` the namespace path, `$2` the key, `$3` the algorithm (`F`, `S` or
    /// `G`), `$4` the limit, `$5` the window in milliseconds, `$6` the burst (0 unless `G`).
    static func rateLimitFunctionCall(_ function: String) -> String {
        "SELECT allowed, \"limit\", remaining, reset_us, retry_after_us FROM \(function)($1, $2, $3, $4, $5, $6)"
    }

    /// The PL/pgSQL function that decides one request of a rate limit, as `RateLimitRule.decide(state:now:)` does,
    /// with the same state in the `value` column, timed by the server's `clock_timestamp()` read once the row is
    /// locked.
    ///
    /// It locks the key's row (`SELECT … FOR UPDATE`), so concurrent decisions on one key take turns; a key without a
    /// row is inserted with `ON CONFLICT DO NOTHING`, and when another call inserted it first the decision is made
    /// again under that row's lock. An expired row, or a value that is not this algorithm's state, counts as no
    /// state; only an admitted request writes, with the state's expiry. It answers what the Redis script answers:
    /// whether the request is admitted, the limit (the burst for `G`), the requests remaining, the microseconds until
    /// the limit resets and, for a refused request, until it would be admitted (else -1).
    static func rateLimitFunctionDefinition(table: String, function: String) -> String {
        """
        CREATE OR REPLACE FUNCTION \(function)(
            entry_namespace text, entry_key bytea, algorithm text, request_limit bigint, window_ms bigint, burst bigint,
            OUT allowed boolean, OUT "limit" bigint, OUT remaining bigint, OUT reset_us bigint, OUT retry_after_us bigint
        ) LANGUAGE plpgsql VOLATILE AS $function$
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
            wait_ms bigint;
            emission bigint;
            capacity bigint;
            tat bigint;
            next_tat bigint;
            allowed_at bigint;
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

                IF algorithm = 'F' THEN
                    start_ms := now_ms - ((now_ms % window_ms) + window_ms) % window_ms;
                    count_value := 0;
                    IF field_count = 3 AND fields[1] = 'F' AND numbers[2] = start_ms AND numbers[3] IS NOT NULL THEN
                        count_value := numbers[3];
                    END IF;
                    "limit" := request_limit;
                    reset_us := (start_ms + window_ms - now_ms) * 1000;
                    IF count_value >= request_limit THEN
                        allowed := false;
                        remaining := 0;
                        retry_after_us := reset_us;
                        RETURN;
                    END IF;
                    count_value := count_value + 1;
                    allowed := true;
                    remaining := request_limit - count_value;
                    retry_after_us := -1;
                    new_state := 'F ' || start_ms || ' ' || count_value;
                    -- The end of the window.
                    expiry_us := (start_ms + window_ms) * 1000;
                ELSIF algorithm = 'S' THEN
                    start_ms := now_ms - ((now_ms % window_ms) + window_ms) % window_ms;
                    previous := 0;
                    current := 0;
                    IF field_count = 4 AND fields[1] = 'S' AND numbers[2] IS NOT NULL AND numbers[3] IS NOT NULL
                        AND numbers[4] IS NOT NULL THEN
                        IF numbers[2] = start_ms THEN
                            previous := numbers[3];
                            current := numbers[4];
                        ELSIF numbers[2] = start_ms - window_ms THEN
                            previous := numbers[4];
                        END IF;
                    END IF;
                    -- The previous window's overlap with the last window of time, in 1...window_ms.
                    overlap := window_ms - (now_ms - start_ms);
                    budget := request_limit * window_ms - previous * overlap;
                    "limit" := request_limit;
                    reset_us := overlap * 1000;
                    IF (current + 1) * window_ms > budget THEN
                        IF current + 1 <= request_limit THEN
                            wait_ms := least(overlap, ((current + 1) * window_ms - budget + previous - 1) / previous);
                        ELSE
                            wait_ms := overlap + (window_ms * (current - request_limit + 1) + current - 1) / current;
                        END IF;
                        allowed := false;
                        remaining := 0;
                        retry_after_us := greatest(wait_ms, 1) * 1000;
                        RETURN;
                    END IF;
                    current := current + 1;
                    allowed := true;
                    remaining := greatest(0, (budget - current * window_ms) / window_ms);
                    retry_after_us := -1;
                    new_state := 'S ' || start_ms || ' ' || previous || ' ' || current;
                    -- The count is still needed as the previous window's throughout the next one.
                    expiry_us := (start_ms + 2 * window_ms) * 1000;
                ELSIF algorithm = 'G' THEN
                    -- In microseconds; the emission interval is rounded up, so the rate is never above the limit.
                    emission := (window_ms * 1000 + request_limit - 1) / request_limit;
                    capacity := burst * emission;
                    tat := now_us;
                    IF field_count = 2 AND fields[1] = 'G' AND numbers[2] > now_us THEN
                        tat := numbers[2];
                    END IF;
                    next_tat := tat + emission;
                    allowed_at := next_tat - capacity;
                    "limit" := burst;
                    IF allowed_at > now_us THEN
                        allowed := false;
                        remaining := 0;
                        reset_us := tat - now_us;
                        retry_after_us := allowed_at - now_us;
                        RETURN;
                    END IF;
                    allowed := true;
                    remaining := (now_us + capacity - next_tat) / emission;
                    reset_us := next_tat - now_us;
                    retry_after_us := -1;
                    new_state := 'G ' || next_tat;
                    expiry_us := now_us + greatest(1, (next_tat - now_us + 999) / 1000) * 1000;
                ELSE
                    RAISE EXCEPTION 'unknown rate-limit algorithm %', algorithm USING ERRCODE = '22023';
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
