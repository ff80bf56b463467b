// The Connect protocol's own client from npm calling the example's user service under node; run
// by tests/connect.rs as `node connect_client.cjs BASE_URL DESCRIPTOR_SET_FILE` with NODE_PATH at
// the packages `.ci/run` installs. It prints one JSON object with what each call returned.
//
// `@connectrpc/connect-node`'s `createConnectTransport`, twice: binary (`useBinaryFormat: true`,
// `application/proto` and `application/connect+proto`, over HTTP/1.1) and JSON
// (`application/json` and `application/connect+json`, over HTTP/2 without TLS, and unary GET
// for the idempotent GetUser with `useHttpGet`). Each makes a unary call with metadata both
// ways, an error with details, a server stream with a message sent while it runs, and a stream
// whose deadline (`timeoutMs`) passes. The service comes from the example's FileDescriptorSet
// (user_service_descriptor.cjs).
"use strict";

const { createClient, ConnectError } = require("@connectrpc/connect");
const { createConnectTransport } = require("@connectrpc/connect-node");
const { userService, user } = require("./user_service_descriptor.cjs");

const [baseUrl, descriptorFile] = process.argv.slice(2);
const service = userService(descriptorFile);

/// The calls over one transport; `id` keeps the users of the two runs apart.
async function calls(options, id) {
  const client = createClient(service, createConnectTransport({ baseUrl, ...options }));
  const out = {};
  let headers;
  const created = await client.createUser(
    { userId: id, user: { displayName: `User ${id}`, email: `${id}@example.com` } },
    { headers: { "x-request-id": `req-${id}` }, onHeader: (h) => (headers = h) },
  );
  out.created = user(created);
  out.requestId = headers.get("x-request-id");
  out.got = user(await client.getUser({ name: `users/${id}` }));
  try {
    await client.getUser({ name: "users/nobody" });
    out.missing = "no error";
  } catch (e) {
    const err = ConnectError.from(e);
    out.missing = {
      code: err.code,
      message: err.rawMessage,
      details: err.details.map((d) => ({
        type: d.type,
        // The detail's bytes hold the resource's name; `debug` is its JSON from the server.
        resource: Buffer.from(d.value).includes("users/nobody"),
        debug: d.debug,
      })),
    };
  }
  // Server streaming: the users there are, then one created while watching.
  const watched = [];
  const abort = new AbortController();
  try {
    for await (const event of client.watchUsers({}, { signal: abort.signal })) {
      watched.push(event.user.name);
      if (watched.length === 1) {
        await client.createUser({ userId: `${id}-2`, user: { email: `${id}-2@example.com` } });
      }
      if (watched.length === 2) abort.abort();
    }
  } catch (e) {
    if (ConnectError.from(e).code !== 1 /* CANCELED, ours */) throw e;
  }
  out.watched = watched;
  // A stream that outlives its deadline: the users there are, then DEADLINE_EXCEEDED.
  const beforeDeadline = [];
  try {
    for await (const event of client.watchUsers({}, { timeoutMs: 700 })) {
      beforeDeadline.push(event.user.name);
    }
    out.deadline = { events: beforeDeadline.length, code: "no error" };
  } catch (e) {
    out.deadline = { events: beforeDeadline.length, code: ConnectError.from(e).code };
  }
  return out;
}

(async () => {
  const result = {
    binary: await calls({ useBinaryFormat: true, httpVersion: "1.1" }, "bin"),
    json: await calls({ useBinaryFormat: false, httpVersion: "2" }, "json"),
  };
  // Unary GET (idempotency_level = NO_SIDE_EFFECTS), JSON in the query.
  const get = createClient(
    service,
    createConnectTransport({ baseUrl, httpVersion: "1.1", useHttpGet: true }),
  );
  result.get = user(await get.getUser({ name: "users/json" }));
  console.log(JSON.stringify(result));
})().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
