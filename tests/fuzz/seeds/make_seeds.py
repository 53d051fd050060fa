#!/usr/bin/env python3
"""Writes the generated seeds of tests/fuzz/corpus/: safetensors files, a PNG for the
image reader, workflow texts taken from tests/workflow/cases/, and query strings for
the API fuzzer. Deterministic; run from anywhere (make_seeds.sh runs it)."""
import json
import pathlib
import struct
import zlib

here = pathlib.Path(__file__).resolve().parent
fuzz = here.parent
repo = fuzz.parent.parent
corpus = fuzz / "corpus"


def write(target, name, data):
    folder = corpus / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def safetensors(tensors, metadata=None):
    """tensors: [(name, dtype, shape, raw bytes)], packed in the order given."""
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def f32(*values):
    return struct.pack("<%df" % len(values), *values)


write("safetensors", "f32_2x3.safetensors",
      safetensors([("weight", "F32", [2, 3], f32(1, -2, 3.5, 0, 1e-3, -1e30))]))
write("safetensors", "mixed_with_metadata.safetensors", safetensors([
    ("a.bias", "F16", [2], struct.pack("<2H", 0x3C00, 0xFC00)),        # 1.0, -inf
    ("a.weight", "BF16", [1, 2], struct.pack("<2H", 0x3F80, 0x7FC0)),  # 1.0, nan
    ("b", "F64", [1], struct.pack("<d", 2.5)),
    ("step", "I64", [], struct.pack("<q", 600)),
    ("mask", "BOOL", [3], b"\x01\x00\x01"),
    ("empty", "U8", [0, 4], b""),
], {"format": "pt", "arch": "vit-tiny"}))
write("safetensors", "ints.safetensors", safetensors([
    ("i8", "I8", [2], b"\x80\x7f"), ("i16", "I16", [1], b"\x01\x80"),
    ("i32", "I32", [2, 1], struct.pack("<2i", -1, 7)), ("u8", "U8", [3], b"abc")]))
write("safetensors", "no_tensors.safetensors", safetensors([], {}))

# An 8-bit grey 3x2 PNG and a 2x2 RGB one (the image reader decides by signature).
def png(width, height, colour_type, rows):
    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body +
                struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    raw = b"".join(b"\x00" + row for row in rows)
    return (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))

write("dicom", "grey_3x2.png", png(3, 2, 0, [b"\x00\x80\xff", b"\x10\x20\x30"]))
write("dicom", "rgb_2x2.png", png(2, 2, 2, [b"\xff\x00\x00\x00\xff\x00", b"\x00\x00\xff\x80\x80\x80"]))

# Workflow texts: the shipped workflows and every case's "workflow" (malformed cases
# hold it as a string: their exact text).
for path in sorted((repo / "workflows").glob("*.json")):
    write("workflow", path.name, path.read_bytes())
for path in sorted((repo / "tests" / "workflow" / "cases").glob("*.json")):
    workflow = json.loads(path.read_text())["workflow"]
    text = workflow if isinstance(workflow, str) else json.dumps(workflow, indent=1)
    write("workflow", "case_" + path.name, text)

# The API fuzzer: a few workflows (bodies) and path segments / query strings.
for name in ["demo-lite.json", "raddino.json"]:
    write("api", name, (repo / "workflows" / name).read_bytes())
for name in ["valid_pipeline.json", "run_params.json", "param_errors.json", "cycle_of_three.json"]:
    workflow = json.loads((repo / "tests" / "workflow" / "cases" / name).read_text())["workflow"]
    write("api", "case_" + name, workflow if isinstance(workflow, str) else json.dumps(workflow))
for i, text in enumerate(["1", "2", "data", "status=queued&limit=2&offset=0",
                          "q=demo&sort=duration&order=asc&limit=1000",
                          "status=bogus", "limit=-1", "after=9223372036854775807"]):
    write("api", "query_%d.txt" % i, text)

# Worker event lines (orchestrator/executor/event_line.h), one per file, no newline.
for i, line in enumerate([
        '{"type":"log","level":"warning","message":"loss is nan","ts_ms":1717000000000}',
        '{"type":"metric","name":"train/loss","iteration":600,"value":0.25}',
        '{"type":"metric","name":"auroc","iteration":18446744073709551615,"value":"-inf"}',
        '{"type":"progress","fraction":0.5,"message":"epoch 3/6","ts_ms":1}',
        '{"type":"output","name":"checkpoint","path":"out/encoder.safetensors"}',
        '{"type":"end","status":"succeeded","reason":"","message":"done"}',
        '{"type":"log","message":"caf\\u00e9 \\ud83d\\ude00 \xc3\xa9"}',
        '{"type":"bogus"}', '[1,2]', 'not json \xff\xfe',
        # As radflow-worker writes metrics (metric_line in event_sink.h): the fast path's.
        '{"type":"metric","name":"bench.s0","iteration":12345,"value":6172.5,"ts_ms":1717000000000}',
        '{"type":"metric","name":"lr","iteration":-1,"value":-0.0,"ts_ms":1e3}']):
    write("event_line", "line_%d.txt" % i, line.encode("utf-8", "surrogateescape")
          if "\xff" not in line else line.encode("latin-1"))
