-- wrk script: every request carries one of KEYS sticky session keys (bench-0 .. bench-(KEYS-1)),
-- rotating per request, so the gateway and nginx route each key to the same worker every time.
local keys = tonumber(os.getenv("KEYS") or "4")
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", "/hello", { ["X-Session-ID"] = "bench-" .. (i % keys) })
end
