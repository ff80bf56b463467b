"""acme.shop.v1.OrderService served by Python grpcio, for tests/gateway.rs: the servicer is
generated from the same proto by grpc_tools, and answers as tests/common/shop.rs does.

Usage: gateway_backend.py STUBS_DIR PORT
"""

import sys
from concurrent import futures

sys.path.insert(0, sys.argv[1])

import grpc  # noqa: E402
from google.protobuf import any_pb2  # noqa: E402
from google.rpc import error_details_pb2, status_pb2  # noqa: E402

from acme.shop.v1 import shop_pb2, shop_pb2_grpc  # noqa: E402


class _Status(grpc.Status):
    def __init__(self, code, details, trailing_metadata):
        self.code = code
        self.details = details
        self.trailing_metadata = trailing_metadata


def abort_detailed(context, code, message, field):
    """Ends the call with a google.rpc.Status holding a BadRequest, and `x-reason` metadata."""
    detail = any_pb2.Any()
    detail.Pack(
        error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=field, description=message)
            ]
        )
    )
    status = status_pb2.Status(code=code.value[0], message=message, details=[detail])
    context.abort_with_status(
        _Status(
            code,
            message,
            (
                ("grpc-status-details-bin", status.SerializeToString()),
                ("x-reason", field),
            ),
        )
    )


def seen(context):
    metadata = dict(context.invocation_metadata())
    remaining = context.time_remaining()
    deadline = "-" if remaining is None or remaining > 1e8 else f"{round(remaining)}s"
    return f"x-customer={metadata.get('x-customer', '-')} deadline={deadline}"


def served(context):
    context.send_initial_metadata((("x-served-by", "shop"),))


class Shop(shop_pb2_grpc.OrderServiceServicer):
    def GetOrder(self, request, context):
        if not request.name:
            abort_detailed(context, grpc.StatusCode.INVALID_ARGUMENT, "name is required", "name")
        if request.name == "orders/missing":
            abort_detailed(context, grpc.StatusCode.NOT_FOUND, "no such order", "name")
        served(context)
        return shop_pb2.Order(name=request.name, customer=seen(context))

    def ListOrders(self, request, context):
        served(context)
        return shop_pb2.ListOrdersResponse(
            orders=[
                shop_pb2.Order(name=f"orders/{n}", customer=request.customer) for n in (1, 2)
            ]
        )

    def CreateOrder(self, request, context):
        if not request.order.customer:
            abort_detailed(
                context, grpc.StatusCode.FAILED_PRECONDITION, "no customer", "order.customer"
            )
        served(context)
        return request.order

    def UpdateOrder(self, request, context):
        served(context)
        return request.order

    def CancelOrder(self, request, context):
        context.abort(grpc.StatusCode.NOT_FOUND, f"{request.name} does not exist")

    def WatchOrder(self, request, context):
        if not request.name:
            abort_detailed(context, grpc.StatusCode.INVALID_ARGUMENT, "name is required", "name")
        served(context)
        yield shop_pb2.OrderEvent(name=request.name, state=1)
        if request.name == "orders/broken":
            context.abort(grpc.StatusCode.ABORTED, "the feed broke")
        for state in (2, 3):
            yield shop_pb2.OrderEvent(name=request.name, state=state)

    def ImportOrders(self, request_iterator, context):
        response = shop_pb2.ImportOrdersResponse()
        for order in request_iterator:
            if not order.customer:
                abort_detailed(
                    context,
                    grpc.StatusCode.FAILED_PRECONDITION,
                    "an order without a customer",
                    "customer",
                )
            if "dup" in order.name:
                response.failed.append(order.name)
            else:
                response.imported += 1
        response.failed.append(seen(context))
        served(context)
        return response

    def Chat(self, request_iterator, context):
        served(context)
        for message in request_iterator:
            if message.text == "boom":
                context.abort(grpc.StatusCode.OUT_OF_RANGE, "boom is too loud")
            yield shop_pb2.ChatMessage(text=message.text.upper())

    def LegacyGetOrder(self, request, context):
        return self.GetOrder(request, context)


def main():
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    shop_pb2_grpc.add_OrderServiceServicer_to_server(Shop(), server)
    server.add_insecure_port(f"127.0.0.1:{sys.argv[2]}")
    server.start()
    print("serving", flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
