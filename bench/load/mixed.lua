-- A mixed read/write load for wrk: anonymous and signed-in reads of the list, the feed, an
-- article, its comments and the tags, and writes (favorite, unfavorite, comment, publish).
-- TOKEN and SLUGS (comma-separated) come from the environment (bench/load/run sets them).
-- Counts 5xx answers per thread and prints a JSON summary line at the end.

local token = os.getenv("TOKEN")
local slugs = {}
for slug in string.gmatch(os.getenv("SLUGS") or "", "[^,]+") do slugs[#slugs + 1] = slug end
local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

function init(args)
  server_errors, client_errors, counter = 0, 0, 0
  math.randomseed(os.time() + (tonumber(tostring({}):sub(8)) or 0))
end

local function authed(method, path, body)
  local headers = { ["Authorization"] = "Token " .. token }
  if body then headers["Content-Type"] = "application/json" end
  return wrk.format(method, path, headers, body)
end

function request()
  counter = counter + 1
  local slug = slugs[math.random(#slugs)]
  local n = math.random(100)
  if n <= 35 then return wrk.format("GET", "/api/articles?limit=20")
  elseif n <= 45 then return authed("GET", "/api/articles?limit=20")
  elseif n <= 52 then return authed("GET", "/api/articles/feed")
  elseif n <= 62 then return wrk.format("GET", "/api/articles/" .. slug)
  elseif n <= 68 then return wrk.format("GET", "/api/articles/" .. slug .. "/comments")
  elseif n <= 72 then return wrk.format("GET", "/api/tags")
  elseif n <= 76 then return wrk.format("GET", "/api/articles?tag=load")
  elseif n <= 84 then return authed("POST", "/api/articles/" .. slug .. "/favorite")
  elseif n <= 90 then return authed("DELETE", "/api/articles/" .. slug .. "/favorite")
  elseif n <= 96 then return authed("POST", "/api/articles/" .. slug .. "/comments", '{"comment":{"body":"load test comment"}}')
  else return authed("POST", "/api/articles", '{"article":{"title":"Load test article","description":"d","body":"b","tagList":["load"]}}')
  end
end

function response(status, headers, body)
  if status >= 500 then server_errors = server_errors + 1
  elseif status >= 400 then client_errors = client_errors + 1 end
end

function done(summary, latency, requests)
  local server, client = 0, 0
  for _, thread in ipairs(threads) do
    server = server + thread:get("server_errors")
    client = client + thread:get("client_errors")
  end
  local errors = summary.errors
  io.write(string.format(
    '{"requests":%d,"seconds":%.2f,"rps":%.1f,"p50_ms":%.2f,"p99_ms":%.2f,"server_errors":%d,"client_errors":%d,"socket_errors":%d}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, server, client,
    errors.connect + errors.read + errors.write + errors.timeout))
end
