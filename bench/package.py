"""Section 5: deployment package size per function, zipped from the captured graph as the engine zips it.

The reference (the Node.js project this one replaces) ships 1.32 MB per function. Our functions' archives
hold only their service's code and the shared package; Powertools, pydantic and botocore come from the dependency
layer the functions share, so the layer is reported on its own lines: the archive the stack declares (built for
its runtime and architecture, uploaded once per change of the pins) and the one the local cloud publishes (the same pins
built for this interpreter, with bytecode).
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

from bench import stack
from bench.harness import Context

REFERENCE_BYTES = 1.32 * 1024 * 1024  # 1.32 MB as the reference reports it (MiB)


def _zip_stats(data: bytes) -> dict[str, Any]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        infos = zf.infolist()
    return {
        "zip_bytes": len(data),
        "files": len(infos),
        "unzipped_bytes": sum(i.file_size for i in infos),
        "vs_reference": round(len(data) / REFERENCE_BYTES, 4),
    }


def run(ctx: Context) -> dict[str, Any]:
    from localcloud.archive import zip_bytes

    graph = stack.graph(ctx)
    functions: dict[str, Any] = {}
    for resource in graph.of_type(stack.FUNCTION_TYPE):
        service = str(resource.inputs["handler"]).split(".")[1]
        functions[service] = {
            "function": resource.physical_name,
            **_zip_stats(zip_bytes(resource.inputs["code"], stack.project_path())),
            "layers": [str(arn) for arn in resource.inputs.get("layers") or []],
        }
    layers: dict[str, Any] = {}
    for resource in graph.of_type(stack.LAYER_TYPE):
        name = str(resource.inputs.get("layerName") or resource.physical_name)
        layers[name] = _zip_stats(zip_bytes(resource.inputs["code"], stack.project_path()))
    try:
        from localcloud.layer import layer_zip
    except ImportError:
        local_layer = None
    else:
        local_layer = _zip_stats(layer_zip())
    return {
        "reference_bytes": int(REFERENCE_BYTES),
        "functions": functions,
        "graph_layers": layers,
        "local_dependency_layer": local_layer,
    }
