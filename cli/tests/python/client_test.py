#!/usr/bin/env python3
"""Calls `charter serve` with the reference gRPC implementation (grpcio).

Stubs are generated at test time from the repository's .proto with grpcio-tools.

    python client_test.py --target 127.0.0.1:50051 --proto-root proto

Exits 0 when every check passes; prints the failing check and exits 1 otherwise.
"""

import argparse
import importlib
import sys
import tempfile

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_tools import protoc


def generate(proto_root, out):
    import os

    proto = os.path.join(proto_root, "charter", "v1", "decision.proto")
    include = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    code = protoc.main(
        ["protoc", f"-I{proto_root}", f"-I{include}", f"--python_out={out}", f"--grpc_python_out={out}", proto]
    )
    if code != 0:
        raise SystemExit(f"protoc failed on {proto} ({code})")
    sys.path.insert(0, out)
    return importlib.import_module("charter.v1.decision_pb2"), importlib.import_module("charter.v1.decision_pb2_grpc")


def check(condition, what):
    if not condition:
        raise AssertionError(what)
    print(f"ok - {what}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", required=True)
    parser.add_argument("--proto-root", required=True)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as out:
        pb, rpc = generate(args.proto_root, out)
        channel = grpc.insecure_channel(args.target)
        grpc.channel_ready_future(channel).result(timeout=30)

        health = health_pb2_grpc.HealthStub(channel)
        answer = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=10)
        check(answer.status == health_pb2.HealthCheckResponse.SERVING, "health is SERVING")
        answer = health.Check(health_pb2.HealthCheckRequest(service="charter.v1.DecisionService"), timeout=10)
        check(answer.status == health_pb2.HealthCheckResponse.SERVING, "the decision service is SERVING")

        reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
        answers = reflection.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=10)
        names = [s.name for a in answers for s in a.list_services_response.service]
        check("charter.v1.DecisionService" in names, f"reflection lists the decision service ({names})")

        stub = rpc.DecisionServiceStub(channel)

        def request(roles, columns, product="orders.order_events", **attributes):
            return pb.AccessRequest(
                principal=pb.Principal(id="py", roles=roles, attributes=attributes),
                product_id=product,
                columns=columns,
            )

        d = stub.CheckAccess(request(["analyst"], ["order_id", "customer_id"]), timeout=10)
        check(d.decision == pb.OUTCOME_ALLOW, "an analyst may read orders.order_events")
        check([c.effect for c in d.columns] == [pb.COLUMN_EFFECT_ALLOW, pb.COLUMN_EFFECT_MASK], "customer_id is masked")
        check(d.columns[1].mask_method == "hash" and d.columns[1].mask_expression, "the mask comes with its SQL")
        d = stub.CheckAccess(request(["analyst", "pii-reader"], ["customer_id"]), timeout=10)
        check(d.columns[0].effect == pb.COLUMN_EFFECT_ALLOW, "a pii-reader reads customer_id in clear")
        d = stub.CheckAccess(request(["analyst"], [], region="eu"), timeout=10)
        check([f.sql for f in d.row_filters] == ["\"region\" = 'eu'"], "the region row filter applies")
        d = stub.CheckAccess(request(["analyst"], [], product="nope.nothing"), timeout=10)
        check(d.decision == pb.OUTCOME_DENY and d.reasons, "an unknown product is denied with a reason")

        batch = stub.CheckAccessBatch(
            pb.AccessBatchRequest(requests=[request(["analyst"], ["order_id"]), pb.AccessRequest(product_id="orders.order_events")]),
            timeout=10,
        )
        check(len(batch.decisions) == 2, "a batch is answered item by item")
        check(batch.decisions[0].decision == pb.OUTCOME_ALLOW, "the good item is allowed")
        check(batch.decisions[1].decision == pb.OUTCOME_DENY and "principal" in batch.decisions[1].reasons[0].message,
              "the malformed item is a deny naming the field")

        for bad, field in [
            (pb.AccessRequest(product_id="orders.order_events"), "principal"),
            (pb.AccessRequest(principal=pb.Principal(id="py")), "product"),
            (request(["analyst"], ["order_id", ""]), "columns[1]"),
            (pb.AccessRequest(principal=pb.Principal(id="py"), product_id="orders.order_events", action="drop"), "action"),
        ]:
            try:
                stub.CheckAccess(bad, timeout=10)
                check(False, f"malformed `{field}` is refused")
            except grpc.RpcError as error:
                check(error.code() == grpc.StatusCode.INVALID_ARGUMENT and error.details().startswith(f"{field}:"),
                      f"malformed `{field}` is INVALID_ARGUMENT ({error.details()})")

        status = stub.GetStatus(pb.GetStatusRequest(), timeout=10)
        check(status.product_count > 0 and status.revision, "status shows the snapshot")
    print("all python checks passed")


if __name__ == "__main__":
    main()
