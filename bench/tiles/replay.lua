-- wrk script of the tile benchmark: replays a fixed list of request paths (one per line).
--   REPLAY_PATHS=list.txt REPLAY_MODE=once|loop wrk -s replay.lua ...
-- once: every path is requested exactly once (thread k of n takes paths k, k+n, ...) and the
--       thread stops when the last of its share has been answered; the span from the first
--       request to the last response (monotonic clock, through LuaJIT's FFI) is the run's
--       duration. wrk asks delay() before each request of a connection and request() when it
--       is due: delay() reserves a path of the share, or, when all are taken, holds the
--       connection back for good, so no request past the list is sent and none in flight is
--       dropped (stopping at the first connection to find the list done lost the answers still
--       in flight on the others: a third of a 182-tile list at 64 connections).
-- loop: the list is replayed round and round for wrk's duration (thread k starts at the k-th
--       n-th of the list); no response callback, so wrk does not hand bodies to Lua.
-- done() prints one line "WRKJSON {...}" with the counts and latency percentiles (microseconds).
local ffi = require("ffi")
ffi.cdef[[ typedef struct { long tv_sec; long tv_nsec; } replay_timespec; int clock_gettime(int, replay_timespec *); ]]
local ts = ffi.new("replay_timespec")
local function now()
  ffi.C.clock_gettime(1, ts)
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

local mode = os.getenv("REPLAY_MODE") or "loop"
local list_file = os.getenv("REPLAY_PATHS")
local threads = {}
local thread_count = 0

function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

function init(args)
  paths = {}
  for line in io.lines(list_file) do
    if #line > 0 then paths[#paths + 1] = line end
  end
  nthreads = tonumber(os.getenv("REPLAY_THREADS") or "1")
  t_first, t_last, ok, bad = 0, 0, 0, 0
  reserved, sent = 0, 0  -- once: paths promised by delay() not yet taken by request(); requests sent
  if mode == "once" then
    i = tid + 1
  else
    i = math.floor(tid * #paths / nthreads) + 1
  end
end

function request()
  if mode == "once" then
    -- every request sent was promised a path by delay(); a call without a promise is wrk
    -- checking the script once before the run (script_verify_request): it takes no path and
    -- starts no clock
    local p = paths[math.min(i, #paths)]
    if reserved == 0 then return wrk.format("GET", p) end
    if t_first == 0 then t_first = now() end
    reserved = reserved - 1
    i = i + nthreads
    sent = sent + 1
    return wrk.format("GET", p)
  end
  if i > #paths then i = 1 end
  local p = paths[i]
  i = i + 1
  return wrk.format("GET", p)
end

if mode == "once" then
  function delay()
    if i + reserved * nthreads <= #paths then
      reserved = reserved + 1
      return 0
    end
    return 24 * 3600 * 1000  -- the share is all sent: this connection sends nothing more
  end

  function response(status, headers, body)
    t_last = now()
    if status == 200 then ok = ok + 1 else bad = bad + 1 end
    if reserved == 0 and i > #paths and ok + bad >= sent then wrk.thread:stop() end
  end
end

function done(summary, latency, requests)
  local first, last, oks, bads = 1e300, 0, 0, 0
  for _, t in ipairs(threads) do
    local f = t:get("t_first")
    if f and f > 0 then first = math.min(first, f) end
    last = math.max(last, t:get("t_last") or 0)
    oks = oks + (t:get("ok") or 0)
    bads = bads + (t:get("bad") or 0)
  end
  local span = (mode == "once" and last > first) and (last - first) or (summary.duration / 1e6)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"mode": "%s", "requests": %d, "bytes": %d, "duration_s": %.6f, "ok_once": %d, "bad_once": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "max": %d, "mean": %.1f}}\n',
    mode, summary.requests, summary.bytes, span, oks, bads, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
