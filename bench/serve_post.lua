-- serve_post.lua - wrk script for bench/serve-speed: POST the file named by
-- $BODY as application/json on every request (keep-alive).
wrk.method = "POST"
local f = assert(io.open(os.getenv("BODY"), "rb"))
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
