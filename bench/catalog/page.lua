-- GET on BENCH_PATH, authenticated as BENCH_USER (BENCH_NOAUTH=1: without
-- an Authorization header, for the static file).
dofile(os.getenv("BENCH_LIB") .. "/wrk-common.lua")
local path = os.getenv("BENCH_PATH")
local headers = {}
if os.getenv("BENCH_NOAUTH") ~= "1" then
    headers["Authorization"] = auth_header
end
request = function()
    return wrk.format("GET", path, headers)
end
