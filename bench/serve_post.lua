-- serve_post.lua - wrk script for bench/serve-speed: POST the file named by
-- $BODY as application/json on every request (keep-alive).  With
-- $DELAY_MS, each connection waits that many milliseconds (wrk rounds
-- down to whole ones) before its next request: a paced load, since wrk has
-- no fixed-rate mode.
wrk.method = "POST"
local f = assert(io.open(os.getenv("BODY"), "rb"))
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"

local pause = tonumber(os.getenv("DELAY_MS") or "")
if pause then
	function delay()
		return pause
	end
end
