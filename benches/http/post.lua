-- wrk script for the POST: the body is read once from the file named by $BODY.
local file = assert(io.open(assert(os.getenv("BODY"), "set BODY"), "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
wrk.headers["Content-Type"] = "application/json"
file:close()
