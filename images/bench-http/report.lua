-- wrk's summary as one JSON line on stdout (latencies in microseconds), for test/bench/edge.ts,
-- with the number of responses that closed their connection ("Connection: close"): each of
-- those costs the client a new connection (and a TLS handshake over HTTPS).
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  closed = 0
end

function response(status, headers, body)
  for name, value in pairs(headers) do
    if name:lower() == "connection" and value:lower() == "close" then
      closed = closed + 1
    end
  end
end

function done(summary, latency, requests)
  local closedTotal = 0
  for _, thread in ipairs(threads) do
    closedTotal = closedTotal + (thread:get("closed") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"durationUs":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
      '"p50":%d,"p90":%d,"p99":%d,"mean":%.1f,"max":%d,"closed":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max, closedTotal))
end
