-- The soak's load (scripts/soak.sh): a million distinct keys, each request a random one. Three of four requests
-- read /cached?k=KEY (a miss stores a 1 KiB response under the key until the memory bound evicts it); the fourth is
-- a GET /session without a cookie, which stores a new session.
local counter = 0

function setup(thread)
    counter = counter + 1
    thread:set("seed", counter)
end

function init(args)
    math.randomseed(os.time() * 1000 + seed)
    sent = 0
end

function request()
    sent = sent + 1
    if sent % 4 == 0 then
        return wrk.format("GET", "/session")
    end
    return wrk.format("GET", "/cached?k=" .. math.random(1, 1000000))
end
