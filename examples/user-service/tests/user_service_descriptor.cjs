// The example's `user.v1.UserService` read from its FileDescriptorSet with @bufbuild/protobuf's
// registry, rather than generated stubs (no protoc plugin for JavaScript is needed); shared by
// the node clients grpc_web_client.cjs and connect_client.cjs.
"use strict";

const fs = require("node:fs");
const { fromBinary, createFileRegistry } = require("@bufbuild/protobuf");
const { FileDescriptorSetSchema } = require("@bufbuild/protobuf/wkt");

/// The service of the set in `descriptorFile`.
function userService(descriptorFile) {
  // The set lists every file after the files it imports (README, Parameters:
  // `file_descriptor_set`), so the registry takes it whole, as it takes protoc's.
  const set = fromBinary(FileDescriptorSetSchema, fs.readFileSync(descriptorFile));
  return createFileRegistry(set).getService("user.v1.UserService");
}

/// The fields of a user the tests compare.
const user = (u) => u && { name: u.name, displayName: u.displayName, email: u.email };

module.exports = { userService, user };
