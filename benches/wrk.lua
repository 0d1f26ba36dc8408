-- One wrk script for every txtcv scenario; arguments after `--`:
--   <mode> <file> <rate per second, 0 = as fast as possible> [<limit> | <path>]
-- modes:
--   hosts    GET <path> (default /) on <line>.localhost (one username per line): public CV pages,
--            their PDFs or preview images over many users
--   poll     GET /cover-letters/<id>/status with the session cookie (lines "<cookie> <letter id>")
--   enqueue  POST /cover-letters with the session cookie of each line (first word), <limit> times
--            in all, then GET /healthz (wrk has no request count)
-- With a rate, requests are sent on a fixed schedule (each reserves the next slot), not one per
-- response, so a slow server does not lower the offered load; this needs enough connections.

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clock, bench_timespec *ts);
]]
local ts = ffi.new("bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local mode, lines, interval, limit, path
local next_line, next_slot, sent = 1, nil, 0

function init(args)
  mode = args[1]
  lines = {}
  for line in io.lines(args[2]) do
    if line ~= "" then lines[#lines + 1] = line end
  end
  local rate = tonumber(args[3] or "0")
  interval = rate > 0 and 1000 / rate or nil
  limit = tonumber(args[4] or "0") or 0
  path = args[4] and not tonumber(args[4]) and args[4] or "/"
end

function delay()
  if not interval then return 0 end
  local now = now_ms()
  if not next_slot or next_slot < now then next_slot = now end
  local wait = next_slot - now
  next_slot = next_slot + interval
  return math.floor(wait)
end

local function take()
  local line = lines[next_line]
  next_line = next_line % #lines + 1
  return line
end

function request()
  local line = take()
  if mode == "hosts" then
    return wrk.format("GET", path, { ["Host"] = line .. ".localhost" })
  end
  local cookie, id = line:match("^(%S+)%s*(%S*)$")
  local headers = { ["Cookie"] = "txtcv_session=" .. cookie }
  if mode == "poll" then
    return wrk.format("GET", "/cover-letters/" .. id .. "/status", headers)
  end
  if sent >= limit then
    return wrk.format("GET", "/healthz")
  end
  sent = sent + 1
  headers["Content-Type"] = "application/x-www-form-urlencoded"
  return wrk.format("POST", "/cover-letters", headers,
    "job_description=We+are+hiring+a+Rust+engineer+who+knows+PostgreSQL.&company=Acme")
end
