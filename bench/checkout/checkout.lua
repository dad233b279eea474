-- POST /api/v1/orders: a direct order of a small cart (three products from
-- three disjoint ranges of SKU-00001..02000, 1..5 units each), its own
-- Idempotency-Key per request, as one of BENCH_USERS bench buyers (ckb-01..)
-- chosen at random (BENCH_AUTHS: their base64 "user:password", from run.sh).
-- The same shape as bench/checkout/sqlgen.c's pgbench script.
dofile(os.getenv("BENCH_LIB") .. "/wrk-common.lua")

local headers = {}
local counter = 0
local thread_tag = "t"

function setup(thread)
    thread:set("tag", tostring(math.random(1, 1000000000)))
end

function init(args)
    thread_tag = tag or tostring(math.random(1, 1000000000))
    math.randomseed(os.time() + tonumber(thread_tag))
    for auth in string.gmatch(os.getenv("BENCH_AUTHS") or "", "%S+") do
        headers[#headers + 1] = { ["Authorization"] = "Basic " .. auth,
                                  ["Content-Type"] = "application/json" }
    end
end

request = function()
    counter = counter + 1
    local h = headers[math.random(1, #headers)]
    h["Idempotency-Key"] = string.format("wrk-%s-%d-%d", thread_tag, counter, math.random(1, 1000000000))
    local body = string.format(
        '{"po_number":"WRK-%d","lines":[{"sku":"SKU-%05d","qty":%d},{"sku":"SKU-%05d","qty":%d},{"sku":"SKU-%05d","qty":%d}]}',
        counter, math.random(1, 666), math.random(1, 5), math.random(667, 1333), math.random(1, 5),
        math.random(1334, 2000), math.random(1, 5))
    return wrk.format("POST", "/api/v1/orders", h, body)
end

local non201 = 0
response = function(status, headers, body)
    if status ~= 201 then
        non201 = non201 + 1
        if non201 <= 3 then io.stderr:write("checkout answered " .. status .. ": " .. body .. "\n") end
    end
end
