-- Shared by the benchmarks' wrk scripts: authentication as a buyer, and one
-- machine-readable line at the end that run.sh turns into ratios.
--   RESULT rps=<n> p50_ms=<n> p99_ms=<n> errors=<n>
local user = os.getenv("BENCH_USER") or "bench-00001"
local pass = os.getenv("BENCH_PASSWORD") or "demo"

-- base64 for the Basic header (wrk's Lua has no library for it)
local b = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local function base64(data)
    return ((data:gsub(".", function(x)
        local r, byte = "", x:byte()
        for i = 8, 1, -1 do r = r .. (byte % 2 ^ i - byte % 2 ^ (i - 1) > 0 and "1" or "0") end
        return r
    end) .. "0000"):gsub("%d%d%d?%d?%d?%d?", function(x)
        if #x < 6 then return "" end
        local c = 0
        for i = 1, 6 do c = c + (x:sub(i, i) == "1" and 2 ^ (6 - i) or 0) end
        return b:sub(c + 1, c + 1)
    end) .. ({ "", "==", "=" })[#data % 3 + 1])
end

auth_header = "Basic " .. base64(user .. ":" .. pass)
products = tonumber(os.getenv("BENCH_PRODUCTS") or "50000")

function random_sku()
    return string.format("SKU-%05d", math.random(1, products))
end

function done(summary, latency, requests)
    local errors = summary.errors.connect + summary.errors.read + summary.errors.write
                   + summary.errors.status + summary.errors.timeout
    io.write(string.format("RESULT rps=%.1f p50_ms=%.3f p99_ms=%.3f errors=%d\n",
        summary.requests / (summary.duration / 1e6),
        latency:percentile(50) / 1000, latency:percentile(99) / 1000, errors))
end
