-- wrk script of bench/data-plane.sh: every request carries one of KEYS session keys
-- (X-Session-ID: bench-0 .. bench-(KEYS-1)), rotating per request. Each wrk thread starts at
-- another key, so the threads' connections do not move through the keys in step. The method
-- and path are the URL's (GET /5b or GET /16k). The KEYS request texts are built once per
-- thread, so that wrk, which shares the machine's cores with the proxy it measures, spends as
-- little as it can per request.
local keys = tonumber(os.getenv("KEYS") or "8")
local threads = 0

function setup(thread)
  thread:set("thread_index", threads)
  threads = threads + 1
end

local requests = {}
local i = 0

function init(args)
  for k = 0, keys - 1 do
    requests[k + 1] = wrk.format(nil, nil, { ["X-Session-ID"] = "bench-" .. k })
  end
  i = (thread_index or 0) * 7919
end

function request()
  i = i + 1
  return requests[i % keys + 1]
end
