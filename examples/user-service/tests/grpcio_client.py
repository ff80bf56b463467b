"""Calls the example server with Python grpcio, a gRPC implementation that shares no code
with ours. Usage: grpcio_client.py STUB_DIR HOST:PORT. Exits non-zero on any mismatch."""

import sys

sys.path.insert(0, sys.argv[1])

import grpc  # noqa: E402
from google.rpc import error_details_pb2  # noqa: E402
from grpc_health.v1 import health_pb2, health_pb2_grpc  # noqa: E402
from grpc_status import rpc_status  # noqa: E402
from user.v1 import user_pb2, user_pb2_grpc  # noqa: E402


def check(condition, what):
    if not condition:
        raise AssertionError(what)


def main():
    channel = grpc.insecure_channel(sys.argv[2])
    grpc.channel_ready_future(channel).result(timeout=10)

    health = health_pb2_grpc.HealthStub(channel)
    for service in ["", "user.v1.UserService"]:
        answer = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
        check(answer.status == health_pb2.HealthCheckResponse.SERVING, f"health of {service!r}")
    try:
        health.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=5)
        check(False, "unknown service in health")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.NOT_FOUND, f"unknown service: {e.code()}")

    users = user_pb2_grpc.UserServiceStub(channel)
    created, call = users.CreateUser.with_call(
        user_pb2.CreateUserRequest(
            user_id="grace",
            user=user_pb2.User(display_name="Grace Hopper", email="grace@example.com"),
        ),
        metadata=[("x-request-id", "py-1")],
        timeout=5,
    )
    check(created.name == "users/grace", f"created {created.name}")
    check(created.create_time.seconds > 0, "create_time set by the server")
    check(("x-request-id", "py-1") in call.initial_metadata(), "request id echoed")

    got = users.GetUser(user_pb2.GetUserRequest(name="users/grace"), timeout=5)
    check(got == created, "read back what was created")

    try:
        users.CreateUser(
            user_pb2.CreateUserRequest(user_id="x", user=user_pb2.User(email="nowhere")),
            timeout=5,
        )
        check(False, "invalid user accepted")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.INVALID_ARGUMENT, f"invalid user: {e.code()}")
        status = rpc_status.from_call(e)
        check(status is not None, "grpc-status-details-bin present")
        bad = error_details_pb2.BadRequest()
        check(status.details[0].Unpack(bad), "BadRequest detail")
        check([v.field for v in bad.field_violations] == ["user.email"], str(bad))

    imported = users.ImportUsers(
        iter(
            user_pb2.CreateUserRequest(user_id=f"u{i}", user=user_pb2.User(email=f"u{i}@x"))
            for i in range(3)
        ),
        timeout=5,
    )
    check(imported.created == 3, f"imported {imported.created}")

    watch = users.WatchUsers(user_pb2.WatchUsersRequest(), timeout=5)
    seen = [next(watch).user.name for _ in range(4)]
    watch.cancel()
    check(seen == ["users/grace", "users/u0", "users/u1", "users/u2"], str(seen))

    asked = [user_pb2.GetUserRequest(name=n) for n in ["users/u1", "users/none"]]
    answers = [u.name for u in users.LookupUsers(iter(asked), timeout=5)]
    check(answers == ["users/u1", ""], str(answers))

    print("grpcio: ok")


main()
