-- GET on BENCH_PATH; "{sku}" in it becomes a random SKU on each request.
dofile(os.getenv("BENCH_LIB") .. "/wrk-common.lua")
math.randomseed(os.time())
local path = os.getenv("BENCH_PATH")
request = function()
    return wrk.format("GET", (path:gsub("{sku}", random_sku())),
        { ["Authorization"] = auth_header })
end
