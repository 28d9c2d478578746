#!/usr/bin/env python3
"""A tiny gRPC command line client with JSON in and out, for when grpcurl is not installed.

    python3 tools/triad_py/call.py 127.0.0.1:7101 triad.clients.v1.ClientsService/ListClients \
        '{"owner_id": "u:zhao.am"}'
    python3 tools/triad_py/call.py 127.0.0.1:7102 list     # services and methods it knows

The request and response types come from the classes generated from proto/ at run time.
Connection (as triadctl): TLS with --tls-ca FILE (else $TRIAD_TLS_CA, else the dev PKI of
`make run`, .triad/pki/ca.pem, when present), the bearer token of --token-file FILE (else
$TRIAD_TOKEN, else the token `triadctl login` stored), --client-cert/--client-key for mTLS;
--plaintext for servers run with --auth_mode=disabled."""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import triad_py  # noqa: E402

triad_py.ensure_python()

from google.protobuf import descriptor_pool, json_format, symbol_database  # noqa: E402

from triad_py import auth, rpc, stubs  # noqa: E402

SERVICES = ("triad.clients.v1.ClientsService", "triad.clients.v1.ClientsAdminService",
            "triad.pipeline.v1.PipelineService", "triad.pipeline.v1.PipelineAdminService",
            "triad.review.v1.ReviewService", "triad.production.v1.ProductionService",
            "triad.admin.v1.AdminService", "grpc.health.v1.Health")


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="call.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("address")
    ap.add_argument("method", help="Service/Method, or `list`")
    ap.add_argument("request", nargs="?", default="{}", help="the request as proto3 JSON")
    ap.add_argument("--tls-ca", metavar="FILE")
    ap.add_argument("--token-file", metavar="FILE")
    ap.add_argument("--client-cert", metavar="FILE")
    ap.add_argument("--client-key", metavar="FILE")
    ap.add_argument("--plaintext", action="store_true")
    return ap.parse_args(argv[1:])


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    args = parse_args(argv)
    address, method = args.address, args.method
    try:
        security = auth.ClientConfig.resolve(
            tls_ca=args.tls_ca, token_file=args.token_file, client_cert=args.client_cert,
            client_key=args.client_key, plaintext=args.plaintext)
    except ValueError as e:
        print("call.py: %s" % e, file=sys.stderr)
        return 2
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
    request = json_format.Parse(args.request, req_cls())
    import grpc

    with rpc.channel(address, security) as ch:
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
