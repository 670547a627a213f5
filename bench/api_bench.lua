-- bench/api_bench.lua - wrk script of bench/api_bench.sh (issue 6): the request of
-- each run, and one machine-readable result line from done().
--
-- usage: wrk ... -s bench/api_bench.lua http://127.0.0.1:PORT/PATH -- MODE [UUIDFILE]
--   MODE     seconds | minutes | hours | days   GET /api/v1/vms/UUID/stats?granularity=MODE
--            range1h   from/to: one hour ending 0..24 h ago (by budget 5 s, 720 points)
--            range6h   from/to: six hours ending 0..18 h ago (by budget 1 min, 360 points, bands)
--                      (a coarser tier answers where the VM has no data at that one)
--            mix       each request one of the six above, at random
--            fixed     the URL's own path, every request (top, /metrics)
--   UUIDFILE one VM uuid a line (every mode but fixed); each request takes one at random
--
-- done() prints one line on stdout (done() runs in wrk's main Lua state, which never
-- sees init()'s arguments: the caller knows which run it was):
--   api_bench: requests=N duration_us=D bytes=B p50_us=.. p90_us=.. p99_us=..
--              p999_us=.. max_us=.. mean_us=.. stdev_us=.. connect=.. read=.. write=..
--              timeout=.. status=..
-- `status` counts replies with a status above 399 (wrk's count); the socket error counts
-- (connect, read, write, timeout) are wrk's too. The percentiles are wrk's, in µs.

local counter = 0

function setup(thread)
	counter = counter + 1
	thread:set("thread_id", counter)
end

local mode, uuids, n, fixed
local kinds = { "seconds", "minutes", "hours", "days", "range1h", "range6h" }

function init(args)
	mode = args[1] or "fixed"
	math.randomseed(os.time() * 1000 + (thread_id or 0) * 7919)
	if mode == "fixed" then
		fixed = wrk.format("GET")
		return
	end
	uuids, n = {}, 0
	local f = assert(io.open(args[2], "r"), "cannot open the uuid file")
	for line in f:lines() do
		if #line > 0 then
			n = n + 1
			uuids[n] = line
		end
	end
	f:close()
	assert(n > 0, "no uuid in the uuid file")
end

local function stats_path(kind)
	local base = "/api/v1/vms/" .. uuids[math.random(n)] .. "/stats?"
	if kind == "range1h" then
		local to = os.time() - math.random(0, 86400)
		return base .. "from=" .. (to - 3600) .. "&to=" .. to
	elseif kind == "range6h" then
		local to = os.time() - math.random(0, 64800)
		return base .. "from=" .. (to - 21600) .. "&to=" .. to
	end
	return base .. "granularity=" .. kind
end

function request()
	if fixed then
		return fixed
	end
	local kind = mode
	if kind == "mix" then
		kind = kinds[math.random(#kinds)]
	end
	return wrk.format("GET", stats_path(kind))
end

function done(summary, latency, requests)
	local e = summary.errors
	io.write(string.format(
		"api_bench: requests=%d duration_us=%d bytes=%d p50_us=%d p90_us=%d p99_us=%d " ..
		"p999_us=%d max_us=%d mean_us=%.1f stdev_us=%.1f connect=%d read=%d write=%d timeout=%d status=%d\n",
		summary.requests, summary.duration, summary.bytes,
		latency:percentile(50), latency:percentile(90), latency:percentile(99),
		latency:percentile(99.9), latency.max, latency.mean, latency.stdev,
		e.connect, e.read, e.write, e.timeout, e.status))
end
