#!/usr/bin/python3
"""An independent KServe V2 gRPC client for wattflow's test (test/router-power/v2-grpc.test.ts).

Stubs are generated at run time from the official proto (proto/kserve/grpc_predict_v2.proto)
into a temporary directory with `python3 -m grpc_tools.protoc` (Debian's python3-grpc-tools),
and the calls go through Debian's python3-grpcio. For the same inputs it asks the REST server
(urllib) and the gRPC server, and checks that the answers are identical:

  - power model (FP32 [N, 2]) with typed contents and with raw_input_contents, the
    sensitivity outputs (FP64), two inputs named after the features;
  - vehicle model (FP32/FP64 [N, F]) with typed and raw contents, outputs score (FP32) and
    label (BYTES), the `missing` parameter as JSON in a string parameter;
  - server/model metadata and readiness;
  - errors: the REST message equals the gRPC status details, with the status code mapped
    (400 INVALID_ARGUMENT, 404 NOT_FOUND, 403 PERMISSION_DENIED, 401 UNAUTHENTICATED).

Usage: v2_grpc_client.py PROTO GRPC_ADDR REST_URL POWER_MODEL VEHICLE_MODEL [READ_TOKEN]
(READ_TOKEN: the servers require tokens; a token with scope read only.)
Prints one line per check and "V2-GRPC-CHECKS-PASSED <n>"; exits 1 on the first difference.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

PROTO, GRPC_ADDR, REST_URL, POWER, VEHICLE = sys.argv[1:6]
TOKEN = sys.argv[6] if len(sys.argv) > 6 else None

gen = tempfile.mkdtemp(prefix="wattflow-v2-stubs-")
subprocess.run(
    [sys.executable, "-m", "grpc_tools.protoc", f"-I{os.path.dirname(PROTO)}", f"--python_out={gen}", f"--grpc_python_out={gen}", os.path.basename(PROTO)],
    check=True,
)
sys.path.insert(0, gen)
import grpc  # noqa: E402
import grpc_predict_v2_pb2 as pb  # noqa: E402
import grpc_predict_v2_pb2_grpc as pb_grpc  # noqa: E402

channel = grpc.insecure_channel(GRPC_ADDR)
stub = pb_grpc.GRPCInferenceServiceStub(channel)
META = [("authorization", f"Bearer {TOKEN}")] if TOKEN else []
checks = 0

CODE_OF = {400: grpc.StatusCode.INVALID_ARGUMENT, 401: grpc.StatusCode.UNAUTHENTICATED, 403: grpc.StatusCode.PERMISSION_DENIED, 404: grpc.StatusCode.NOT_FOUND, 413: grpc.StatusCode.RESOURCE_EXHAUSTED, 503: grpc.StatusCode.UNAVAILABLE}


def ok(cond, what, detail=""):
    global checks
    if not cond:
        print(f"FAILED: {what} {detail}", flush=True)
        sys.exit(1)
    checks += 1
    print(f"ok {what}", flush=True)


def rest(method, path, body=None, token=TOKEN):
    req = urllib.request.Request(REST_URL + path, method=method, data=None if body is None else json.dumps(body).encode())
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def typed(datatype, values):
    c = pb.InferTensorContents()
    if datatype == "FP32":
        c.fp32_contents.extend(values)
    elif datatype == "FP64":
        c.fp64_contents.extend(values)
    elif datatype == "INT32":
        c.int_contents.extend(values)
    elif datatype == "BYTES":
        c.bytes_contents.extend(v.encode() for v in values)
    return c


def raw_bytes(datatype, values):
    return struct.pack("<%d%s" % (len(values), {"FP32": "f", "FP64": "d", "INT32": "i"}[datatype]), *values)


def flat(x):
    return [v for row in x for v in (flat(row) if isinstance(row, list) else [row])] if isinstance(x, list) else [x]


def param_value(p):
    which = p.WhichOneof("parameter_choice")
    return getattr(p, which) if which else None


def grpc_request(model, inputs, outputs=None, raw=False, params=None, req_id="", version=""):
    """inputs: [(name, datatype, shape, values)]"""
    r = pb.ModelInferRequest(model_name=model, model_version=version, id=req_id)
    for name, dt, shape, values in inputs:
        t = r.inputs.add(name=name, datatype=dt, shape=shape)
        if raw:
            r.raw_input_contents.append(raw_bytes(dt, values))
        else:
            t.contents.CopyFrom(typed(dt, values))
    for o in outputs or []:
        r.outputs.add(name=o)
    for k, v in (params or {}).items():
        if isinstance(v, bool):
            r.parameters[k].bool_param = v
        elif isinstance(v, int):
            r.parameters[k].int64_param = v
        elif isinstance(v, str):
            r.parameters[k].string_param = v
        else:
            r.parameters[k].string_param = json.dumps(v)
    return r


def grpc_outputs(resp):
    out = []
    for i, o in enumerate(resp.outputs):
        if len(resp.raw_output_contents) > 0:
            b = resp.raw_output_contents[i]
            if o.datatype == "BYTES":
                vals, k = [], 0
                while k < len(b):
                    n = struct.unpack_from("<I", b, k)[0]
                    vals.append(b[k + 4 : k + 4 + n].decode())
                    k += 4 + n
            else:
                fmt = {"FP32": "f", "FP64": "d"}[o.datatype]
                vals = list(struct.unpack("<%d%s" % (len(b) // struct.calcsize(fmt), fmt), b))
        else:
            c = o.contents
            vals = list(c.fp32_contents) if o.datatype == "FP32" else list(c.fp64_contents) if o.datatype == "FP64" else [v.decode() for v in c.bytes_contents]
        out.append({"name": o.name, "datatype": o.datatype, "shape": list(o.shape), "data": vals})
    return out


def same_infer(what, model, inputs, outputs=None, params=None, rest_params=None, raw=False, req_id="r-1"):
    body = {"id": req_id, "inputs": [{"name": n, "datatype": dt, "shape": s, "data": v} for n, dt, s, v in inputs]}
    if outputs:
        body["outputs"] = [{"name": o} for o in outputs]
    if rest_params or params:
        body["parameters"] = rest_params or params
    status, rb = rest("POST", f"/v2/models/{model}/infer", body)
    ok(status == 200, f"{what}: REST 200", json.dumps(rb)[:300])
    resp = stub.ModelInfer(grpc_request(model, inputs, outputs, raw, params, req_id), metadata=META)
    ok(resp.model_name == rb["model_name"] and resp.model_version == rb["model_version"] and resp.id == rb["id"], f"{what}: model, version, id identical ({resp.model_name}@{resp.model_version})")
    ok((len(resp.raw_output_contents) > 0) == raw, f"{what}: {'raw' if raw else 'typed'} output contents, as the inputs were sent")
    g = grpc_outputs(resp)
    r = [{"name": o["name"], "datatype": o["datatype"], "shape": o["shape"], "data": flat(o["data"])} for o in rb["outputs"]]
    ok(g == r, f"{what}: outputs identical ({', '.join(o['name'] for o in r)}; {sum(len(o['data']) for o in r)} values)", f"\n REST {r}\n gRPC {g}")
    rp = {k: v for k, v in rb.get("parameters", {}).items() if k != "processing_time_ms"}
    gp = {k: param_value(v) for k, v in resp.parameters.items() if k != "processing_time_ms"}
    norm = {k: (v if isinstance(v, (bool, str)) or (isinstance(v, int)) else json.dumps(v) if isinstance(v, (list, dict)) else str(v)) for k, v in rp.items()}
    ok(norm == gp, f"{what}: parameters identical (besides processing_time_ms: {sorted(gp)})", f"\n REST {norm}\n gRPC {gp}")
    return rb


def same_error(what, model, inputs, outputs=None, params=None, raw=False, token=TOKEN, version=""):
    body = {"inputs": [{"name": n, "datatype": dt, "shape": s, "data": v} for n, dt, s, v in inputs]}
    if outputs:
        body["outputs"] = [{"name": o} for o in outputs]
    if params:
        body["parameters"] = params
    path = f"/v2/models/{model}" + (f"/versions/{version}" if version else "") + "/infer"
    status, rb = rest("POST", path, body, token)
    meta = [("authorization", f"Bearer {token}")] if token else []
    try:
        stub.ModelInfer(grpc_request(model, inputs, outputs, raw, params, version=version), metadata=meta)
        ok(False, f"{what}: gRPC refuses too")
    except grpc.RpcError as e:
        ok(e.code() == CODE_OF.get(status), f"{what}: REST {status} ↔ gRPC {e.code().name}", f"(REST {status} {rb})")
        ok(e.details() == rb["error"], f"{what}: same message ({rb['error'][:90]}…)" if len(rb["error"]) > 90 else f"{what}: same message ({rb['error']})", f"\n REST {rb['error']}\n gRPC {e.details()}")


# ---- server and model metadata, readiness
ok(stub.ServerLive(pb.ServerLiveRequest()).live is True, "ServerLive")
status, rb = rest("GET", "/v2/health/ready", token=None)
ok(stub.ServerReady(pb.ServerReadyRequest()).ready == rb["ready"], f"ServerReady = REST ready ({rb['ready']})")
sm = stub.ServerMetadata(pb.ServerMetadataRequest(), metadata=META)
status, rb = rest("GET", "/v2")
ok((sm.name, sm.version, list(sm.extensions)) == (rb["name"], rb["version"], rb["extensions"]), f"ServerMetadata = GET /v2 ({sm.name})")
for model in (POWER, VEHICLE):
    mm = stub.ModelMetadata(pb.ModelMetadataRequest(name=model), metadata=META)
    status, rb = rest("GET", f"/v2/models/{model}")
    tensors = lambda ts: [{"name": t.name, "datatype": t.datatype, "shape": list(t.shape)} for t in ts]  # noqa: E731
    ok(
        (mm.name, list(mm.versions), mm.platform, tensors(mm.inputs), tensors(mm.outputs)) == (rb["name"], rb["versions"], rb["platform"], rb["inputs"], rb["outputs"]),
        f"ModelMetadata({model}) = GET /v2/models/{model}",
    )
    status, rr = rest("GET", f"/v2/models/{model}/ready")
    ok(stub.ModelReady(pb.ModelReadyRequest(name=model), metadata=META).ready == rr["ready"], f"ModelReady({model}) = REST ready")
try:
    stub.ModelMetadata(pb.ModelMetadataRequest(name="nope"), metadata=META)
    ok(False, "ModelMetadata of an unknown model is refused")
except grpc.RpcError as e:
    status, rb = rest("GET", "/v2/models/nope")
    ok(e.code() == grpc.StatusCode.NOT_FOUND and e.details() == rb["error"], "ModelMetadata(unknown) NOT_FOUND with the REST message")

# ---- power model
rows = [576.0, 0.5, 1500.0, 0.9, 64.0, 0.0, 812.25, 0.375]
for raw in (False, True):
    kind = "raw" if raw else "typed"
    same_infer(f"power {kind} FP32 [4, 2]", POWER, [("input", "FP32", [4, 2], rows)], raw=raw)
    same_infer(f"power {kind} with sensitivities", POWER, [("input", "FP32", [4, 2], rows)], outputs=["output", "dpower_doccupation", "dpower_dpacket_length"], raw=raw)
    same_infer(f"power {kind} FP64 inputs by feature", POWER, [("PacketSize_B", "FP64", [2], [576.0, 1500.0]), ("Throughput_Percentage", "FP64", [2], [0.5, 0.9])], raw=raw)

# ---- vehicle model
status, vm = rest("GET", f"/v2/models/{VEHICLE}")
F = len(vm["parameters"]["features"])
vec = [float((i * 7) % 13) + 0.25 for i in range(3 * F)]
for raw in (False, True):
    kind = "raw" if raw else "typed"
    same_infer(f"vehicle {kind} FP32 [3, {F}]", VEHICLE, [("features", "FP32", [3, F], vec)], raw=raw)
    same_infer(f"vehicle {kind} FP64, outputs label only", VEHICLE, [("features", "FP64", [3, F], vec)], outputs=["label"], raw=raw)
    missing = [[vm["parameters"]["features"][0]], [], []]
    same_infer(f"vehicle {kind} with parameters.missing (JSON string param)", VEHICLE, [("features", "FP32", [3, F], vec)], params={"missing": missing}, raw=raw)

# ---- errors: same message, mapped status
same_error("wrong shape", POWER, [("input", "FP32", [2, 3], [1.0] * 6)])
same_error("shape vs data count", POWER, [("input", "FP32", [3, 2], [1.0] * 4)])
same_error("negative feature", POWER, [("input", "FP32", [1, 2], [-5.0, 0.5])])
same_error("raw negative feature", POWER, [("input", "FP32", [1, 2], [-5.0, 0.5])], raw=True)
same_error("unknown input", POWER, [("x", "FP32", [1, 2], [1.0, 0.5])])
same_error("unknown output", POWER, [("input", "FP32", [1, 2], [1.0, 0.5])], outputs=["nope"])
same_error("datatype INT32", POWER, [("input", "INT32", [1, 2], [1, 0])])
same_error("unknown model", "no-such-model", [("input", "FP32", [1, 2], [1.0, 0.5])])
same_error("unknown version", POWER, [("input", "FP32", [1, 2], [1.0, 0.5])], version="99")
same_error("vehicle wrong width", VEHICLE, [("features", "FP32", [1, F + 1], [1.0] * (F + 1))])
same_error("vehicle_id without timestamp", VEHICLE, [("features", "FP32", [1, F], [1.0] * F)], params={"vehicle_id": "car-1"})

# a typed-contents field that does not match the datatype, and raw contents that are not whole elements: gRPC-only refusals
try:
    r = pb.ModelInferRequest(model_name=POWER)
    r.inputs.add(name="input", datatype="FP32", shape=[1, 2]).contents.fp64_contents.extend([1.0, 0.5])
    stub.ModelInfer(r, metadata=META)
    ok(False, "fp64_contents for an FP32 input is refused")
except grpc.RpcError as e:
    ok(e.code() == grpc.StatusCode.INVALID_ARGUMENT and "datatype FP32 takes fp32_contents, got fp64_contents" in e.details(), f"contents field ≠ datatype → INVALID_ARGUMENT ({e.details()})")
try:
    r = pb.ModelInferRequest(model_name=POWER)
    r.inputs.add(name="input", datatype="FP32", shape=[1, 2])
    r.raw_input_contents.append(b"\x00" * 7)
    stub.ModelInfer(r, metadata=META)
    ok(False, "7 raw bytes for FP32 are refused")
except grpc.RpcError as e:
    ok(e.code() == grpc.StatusCode.INVALID_ARGUMENT and "not a whole number of FP32 elements" in e.details(), f"raw bytes not whole elements → INVALID_ARGUMENT ({e.details()})")

# ---- authentication (the servers require tokens)
if TOKEN:
    same_error("no token", POWER, [("input", "FP32", [1, 2], [1.0, 0.5])], token=None)
    same_error("wrong token", POWER, [("input", "FP32", [1, 2], [1.0, 0.5])], token="wf_not-a-token")
    same_error(
        "a read-only token writing vehicle predictions",
        VEHICLE,
        [("features", "FP32", [1, F], [1.0] * F)],
        params={"vehicle_id": "car-1", "timestamp": 1700000000000},
    )

print(f"V2-GRPC-CHECKS-PASSED {checks}", flush=True)
