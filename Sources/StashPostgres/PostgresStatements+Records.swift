extension PostgresStatements {
    /// The signature of the record function, for `to_regprocedure`: the store's migration creates it when missing.
    static func recordFunctionSignature(_ function: String) -> String {
        "\(function)(text, bytea, text, bigint, text, text[], text[], text, bigint)"
    }

    /// The call of the record function: `$1` the namespace path, `$2` the key, `$3` the operation (`read`, `take` or
    /// `merge`), `$4` a read's renewal in milliseconds (`NULL`: none), `$5` a merge's fields to set as a JSON object,
    /// `$6` its fields to remove, `$7` its metadata fields, `$8` its expiry (`keep`, `persist` or `reset`), `$9` the
    /// time to live of `reset` in milliseconds. Field names and values are hexadecimal, in the arguments as in the
    /// stored record.
    static func recordFunctionCall(_ function: String) -> String {
        "SELECT status, field, content FROM \(function)($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    }

    /// The PL/pgSQL function of the record operations, one statement each.
    ///
    /// A record is stored in the `value` column as the byte `0xA5` and a JSON object whose names and values are
    /// the fields' names and values in hexadecimal (so any bytes, NUL included, fit in `jsonb`); a value that is not
    /// one (a plain value, or one that does not parse) is reported as status 3. The function locks the row
    /// (`SELECT … FOR UPDATE`) for a take, a merge, and a read that renews, so concurrent merges of one record take
    /// turns on its row and never retry; expiry is judged by `clock_timestamp()`. It returns, for `read` and `take`,
    /// a row (status 1) per field with its name and value as bytes, and no row for a missing record; for `merge`,
    /// one row with status 0 (missing: nothing written), 1 (merged) or 2 (deleted: no field but metadata is left).
    static func recordFunctionDefinition(table: String, function: String) -> String {
        """
        CREATE OR REPLACE FUNCTION \(function)(
            entry_namespace text, entry_key bytea, operation text, renew_ms bigint,
            sets text, removes text[], metadata text[], expiry text, expiry_ms bigint
        ) RETURNS TABLE (status integer, field bytea, content bytea) LANGUAGE plpgsql VOLATILE AS $function$
        DECLARE
            stored bytea;
            stored_expiry timestamptz;
            doc jsonb;
        BEGIN
            IF operation = 'read' AND renew_ms IS NULL THEN
                SELECT value, expires_at INTO stored, stored_expiry FROM \(table)
                WHERE namespace = entry_namespace AND key = entry_key AND \(Self.live);
            ELSE
                SELECT value, expires_at INTO stored, stored_expiry FROM \(table)
                WHERE namespace = entry_namespace AND key = entry_key AND \(Self.live) FOR UPDATE;
            END IF;
            IF NOT FOUND THEN
                IF operation = 'merge' THEN
                    RETURN QUERY SELECT 0, NULL::bytea, NULL::bytea;
                END IF;
                RETURN;
            END IF;
            BEGIN
                IF length(stored) < 1 OR get_byte(stored, 0) <> 165 THEN
                    RAISE invalid_text_representation;
                END IF;
                doc := convert_from(substring(stored FROM 2), 'UTF8')::jsonb;
                IF jsonb_typeof(doc) <> 'object' THEN
                    RAISE invalid_text_representation;
                END IF;
            EXCEPTION WHEN invalid_text_representation OR character_not_in_repertoire OR untranslatable_character THEN
                RETURN QUERY SELECT 3, NULL::bytea, NULL::bytea;
                RETURN;
            END;
            IF operation = 'read' THEN
                IF renew_ms IS NOT NULL AND stored_expiry IS NOT NULL THEN
                    UPDATE \(table) SET expires_at = \(Self.expiresAt("renew_ms"))
                    WHERE namespace = entry_namespace AND key = entry_key;
                END IF;
            ELSIF operation = 'take' THEN
                DELETE FROM \(table) WHERE namespace = entry_namespace AND key = entry_key;
            ELSE
                doc := (doc - removes) || sets::jsonb;
                IF NOT EXISTS (SELECT 1 FROM jsonb_object_keys(doc) AS name WHERE name <> ALL (metadata)) THEN
                    DELETE FROM \(table) WHERE namespace = entry_namespace AND key = entry_key;
                    RETURN QUERY SELECT 2, NULL::bytea, NULL::bytea;
                    RETURN;
                END IF;
                UPDATE \(table) SET
                    value = '\\xa5'::bytea || convert_to(doc::text, 'UTF8'),
                    expires_at = CASE expiry
                        WHEN 'keep' THEN expires_at
                        WHEN 'persist' THEN NULL
                        ELSE \(Self.expiresAt("expiry_ms"))
                    END
                WHERE namespace = entry_namespace AND key = entry_key;
                RETURN QUERY SELECT 1, NULL::bytea, NULL::bytea;
                RETURN;
            END IF;
            RETURN QUERY SELECT 1, decode(entry.key, 'hex'), decode(entry.value, 'hex') FROM jsonb_each_text(doc) AS entry;
        END
        $function$
        """
    }
}
