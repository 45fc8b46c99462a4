-- SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
-- wrk_report.lua - print wrk's summary as one machine-readable line.
-- Latency is wrk's: from writing the request to the end of the response
-- (wrk does not time the TCP handshake, even with "Connection: close").
done = function(summary, latency, requests)
	local e = summary.errors
	io.write(string.format(
		"XB_RESULT requests=%d duration_us=%d err_connect=%d err_read=%d " ..
		"err_write=%d err_timeout=%d err_status=%d p50_us=%d p99_us=%d max_us=%d\n",
		summary.requests, summary.duration, e.connect, e.read, e.write,
		e.timeout, e.status, latency:percentile(50), latency:percentile(99),
		latency.max))
end
