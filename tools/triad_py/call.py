#!/usr/bin/env python3
"""A tiny gRPC command line client with JSON in and out, for when grpcurl is not installed.

    python3 tools/triad_py/call.py 127.0.0.1:7101 triad.clients.v1.ClientsService/ListClients \
        '{"owner_id": "u:zhao.am"}'
    python3 tools/triad_py/call.py 127.0.0.1:7102 list     # services and methods it knows

The request and response types come from the classes generated from proto/ at run time."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import triad_py  # noqa: E402

triad_py.ensure_python()

from google.protobuf import descriptor_pool, json_format, symbol_database  # noqa: E402

from triad_py import rpc, stubs  # noqa: E402

SERVICES = ("triad.clients.v1.ClientsService", "triad.clients.v1.ClientsAdminService",
            "triad.pipeline.v1.PipelineService", "triad.pipeline.v1.PipelineAdminService",
            "triad.review.v1.ReviewService", "triad.production.v1.ProductionService",
            "triad.admin.v1.AdminService", "grpc.health.v1.Health")


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    address, method = argv[1], argv[2]
    stubs.load()
    pool = descriptor_pool.Default()
    if method == "list":
        for name in SERVICES:
            try:
                svc = pool.FindServiceByName(name)
            except KeyError:
                continue
            for m in svc.methods:
                print("%s/%s" % (name, m.name))
        return 0
    service_name, _, method_name = method.lstrip("/").rpartition("/")
    try:
        md = pool.FindServiceByName(service_name).methods_by_name[method_name]
    except KeyError:
        print("unknown method %s (try: list)" % method, file=sys.stderr)
        return 2
    db = symbol_database.Default()
    req_cls = db.GetPrototype(md.input_type)
    resp_cls = db.GetPrototype(md.output_type)
    request = json_format.Parse(argv[3] if len(argv) > 3 else "{}", req_cls())
    import grpc

    with rpc.channel(address) as ch:
        call = ch.unary_unary("/%s/%s" % (service_name, method_name),
                              request_serializer=req_cls.SerializeToString,
                              response_deserializer=resp_cls.FromString)
        try:
            response = call(request, timeout=30)
        except grpc.RpcError as e:
            print("ERROR %s: %s" % (e.code().name, e.details()), file=sys.stderr)
            return 1
    print(json.dumps(json_format.MessageToDict(response), indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
