// gRPC-Web clients from npm calling the example's user service under node; run by
// tests/browser.rs as `node grpc_web_client.cjs BASE_URL DESCRIPTOR_SET_FILE` with NODE_PATH at
// the packages `.ci/run` installs. It prints one JSON object with what each call returned.
//
// - `@connectrpc/connect-node`'s gRPC-Web transport (`application/grpc-web+proto`, binary);
// - Google's `grpc-web` client (`format: "text"`, `application/grpc-web-text`, base64) over
//   `xhr2`, node's stand-in for the browser's XMLHttpRequest: unary calls only, as xhr2 hands
//   over a body only once it ended and the example's one server stream never ends (the page
//   in tests/browser.rs streams in text mode, over Chromium's XMLHttpRequest).
//
// Both take the service from the example's FileDescriptorSet (user_service_descriptor.cjs).
"use strict";

const { createClient, ConnectError } = require("@connectrpc/connect");
const { createGrpcWebTransport } = require("@connectrpc/connect-node");
const { fromBinary, toBinary, create } = require("@bufbuild/protobuf");
globalThis.XMLHttpRequest = require("xhr2");
const grpcWeb = require("grpc-web");
const { userService, user } = require("./user_service_descriptor.cjs");

const [baseUrl, descriptorFile] = process.argv.slice(2);
const service = userService(descriptorFile);

async function connectBinary() {
  const transport = createGrpcWebTransport({ baseUrl, httpVersion: "1.1" });
  const client = createClient(service, transport);
  const out = {};
  let headers;
  const created = await client.createUser(
    { userId: "grace", user: { displayName: "Grace Hopper", email: "grace@example.com" } },
    { headers: { "x-request-id": "req-1" }, onHeader: (h) => (headers = h) },
  );
  out.created = user(created);
  out.requestId = headers.get("x-request-id");
  out.got = user(await client.getUser({ name: "users/grace" }));
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
        resource: Buffer.from(d.value).includes("users/nobody"),
      })),
    };
  }
  // Server streaming: the users there are, then those created while watching.
  const watched = [];
  const abort = new AbortController();
  try {
    for await (const event of client.watchUsers({}, { signal: abort.signal })) {
      watched.push(event.user.name);
      if (watched.length === 1) {
        await client.createUser({ userId: "alan", user: { email: "alan@example.com" } });
      }
      if (watched.length === 2) abort.abort();
    }
  } catch (e) {
    if (ConnectError.from(e).code !== 1 /* CANCELED, ours */) throw e;
  }
  out.watched = watched;
  return out;
}

function grpcWebText() {
  const client = new grpcWeb.GrpcWebClientBase({ format: "text" });
  const descriptor = (name, type, input, output) =>
    new grpcWeb.MethodDescriptor(
      `/user.v1.UserService/${name}`,
      type,
      Object,
      Object,
      (request) => toBinary(input, create(input, request)),
      (bytes) => fromBinary(output, bytes),
    );
  const get = descriptor(
    "GetUser",
    grpcWeb.MethodType.UNARY,
    service.method.getUser.input,
    service.method.getUser.output,
  );
  const url = (name) => `${baseUrl}/user.v1.UserService/${name}`;
  const out = {};
  return new Promise((resolve) => {
    client.rpcCall(url("GetUser"), { name: "users/grace" }, { "x-request-id": "req-2" }, get, (err, u) => {
      out.got = err ? { code: err.code, message: err.message } : user(u);
      client.rpcCall(url("GetUser"), { name: "users/nobody" }, {}, get, (err) => {
        out.missing = err
          ? {
              code: err.code,
              message: err.message,
              details: Boolean(err.metadata && err.metadata["grpc-status-details-bin"]),
            }
          : "no error";
        resolve(out);
      });
    });
  });
}

(async () => {
  const result = { connectBinary: await connectBinary(), grpcWebText: await grpcWebText() };
  console.log(JSON.stringify(result));
})().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
