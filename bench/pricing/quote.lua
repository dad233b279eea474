-- POST /api/v1/prices/quote for one random SKU, qty 1..20, as a bench buyer.
dofile(os.getenv("BENCH_LIB") .. "/wrk-common.lua")
math.randomseed(os.time())
request = function()
    local body = string.format('{"lines":[{"sku":"%s","qty":%d}]}', random_sku(), math.random(1, 20))
    return wrk.format("POST", "/api/v1/prices/quote",
        { ["Authorization"] = auth_header, ["Content-Type"] = "application/json" }, body)
end
