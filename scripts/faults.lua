-- The fault campaign's load (scripts/faults.sh): one client per wrk thread (run with as many threads as
-- connections), each with a session it counts visits in, cached reads, rate-limited requests and now and then a
-- login, which gives the session a new id and keeps its count.
--
-- A client remembers the highest visit count the demo acknowledged (a 200 from GET /session, sent after the session
-- was saved): a later count that is not above it is an acknowledged write lost, counted at once; at the end the
-- script prints each client's cookie and count, and faults.sh reads every session back.
local threads = {}

function setup(thread)
    thread:set("client", #threads + 1)
    table.insert(threads, thread)
end

function init(args)
    -- No login in the last seconds of the load: one still in flight when wrk stops may have moved the session to an
    -- id the client never receives, which the read-back would count as lost.
    last_login = tonumber(args[1]) or math.huge
    cookie = nil
    acknowledged = 0
    sent = 0
    succeeded = 0
    failed = 0
    limited = 0
    other = 0
    lost = 0
    path = nil
end

-- Every fourth request a session write, then a cached read, a session write, a limited request; a login every 40.
local routes = { "/session", "/cached", "/session", "/limited" }

function request()
    sent = sent + 1
    local method = "GET"
    if sent % 40 == 0 and os.time() < last_login then
        method = "POST"
        path = "/login?user=client" .. client
    else
        path = routes[sent % #routes + 1]
    end
    local headers = {}
    if cookie then
        headers["Cookie"] = cookie
    end
    return wrk.format(method, path, headers)
end

function response(status, headers, body)
    if status >= 200 and status < 300 then
        succeeded = succeeded + 1
        if path == "/session" then
            local visits = tonumber(string.match(body, "^visits: (%d+)"))
            if visits then
                if visits <= acknowledged then
                    lost = lost + 1
                    io.stderr:write(string.format("client %d: visits %d after %d was acknowledged\n", client, visits, acknowledged))
                end
                acknowledged = visits
            end
        end
    elseif status == 429 then
        limited = limited + 1
    elseif status >= 500 then
        failed = failed + 1
    else
        other = other + 1
        io.stderr:write(string.format("client %d: %s answered %d\n", client, path, status))
    end
    local set = headers["Set-Cookie"] or headers["set-cookie"]
    if set and status < 300 then
        cookie = string.match(set, "^([^;]+)")
    end
end

function done(summary, latency, requests)
    local totals = { sent = 0, succeeded = 0, failed = 0, limited = 0, other = 0, lost = 0 }
    for _, thread in ipairs(threads) do
        for name, _ in pairs(totals) do
            totals[name] = totals[name] + thread:get(name)
        end
        io.write(string.format("client %d %s %d\n", thread:get("client"), thread:get("cookie") or "-", thread:get("acknowledged")))
    end
    io.write(string.format(
        "totals sent=%d succeeded=%d failed=%d limited=%d other=%d lost=%d timeouts=%d connect=%d read=%d write=%d max_ms=%.0f\n",
        totals.sent, totals.succeeded, totals.failed, totals.limited, totals.other, totals.lost, summary.errors.timeout,
        summary.errors.connect, summary.errors.read, summary.errors.write, latency.max / 1000))
end
