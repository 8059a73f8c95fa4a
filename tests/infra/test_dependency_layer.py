"""The functions' dependency layer: what the program declares for AWS is what the local cloud and the tests run.

Builds are cached under build/layers/ (the first build of a platform downloads wheels from PyPI), so this
module costs a few seconds once the cache is warm, plus the deliberately uncached determinism builds.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pulumi
import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from components import layer_build
from localcloud import layer as local_layer
from localcloud.archive import zip_bytes
from localcloud.graph import PROJECT_DIR, Graph

from .checks import FUNCTION, LAYER, SERVICES, function_of

pytestmark = pytest.mark.infra

LAMBDA_PLATFORMS = [(runtime, arch) for runtime in ("python3.12", "python3.13") for arch in ("arm64", "x86_64")]
MACHINES = {"arm64": "aarch64", "x86_64": "x86_64"}
_METADATA = re.compile(r"python/[^/]+\.dist-info/METADATA")


def pins() -> dict[str, str]:
    """requirements-layer.txt as {canonical name: version}; every line must be an exact pin."""
    result: dict[str, str] = {}
    for line in layer_build.REQUIREMENTS.read_text().splitlines():
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        requirement = Requirement(text)
        (spec,) = requirement.specifier
        assert spec.operator == "==" and not requirement.marker and not requirement.extras, (
            f"requirements-layer.txt: {text!r} is not an exact pin, so builds could differ by platform or day"
        )
        result[canonicalize_name(requirement.name)] = spec.version
    return result


def distributions(archive: Path) -> dict[str, dict[str, Any]]:
    """{canonical name: {"version", "requires"}} from every `python/*.dist-info/METADATA` in a layer zip."""
    found: dict[str, dict[str, Any]] = {}
    with zipfile.ZipFile(archive) as zf:
        for name in zf.namelist():
            if _METADATA.fullmatch(name):
                metadata = message_from_bytes(zf.read(name))
                found[canonicalize_name(metadata["Name"])] = {
                    "version": metadata["Version"],
                    "requires": metadata.get_all("Requires-Dist") or [],
                }
    return found


def lambda_environment(runtime: str, architecture: str) -> dict[str, str]:
    """The marker environment of a Lambda Python runtime (Amazon Linux 2023, CPython)."""
    version = runtime.removeprefix("python")
    return {
        "implementation_name": "cpython",
        "implementation_version": f"{version}.0",
        "os_name": "posix",
        "platform_machine": MACHINES[architecture],
        "platform_python_implementation": "CPython",
        "platform_system": "Linux",
        "python_full_version": f"{version}.0",
        "python_version": version,
        "sys_platform": "linux",
    }


def declared_archive(graph: Graph) -> Path:
    (layer,) = graph.of_type(LAYER)
    code = layer.inputs["code"]
    assert isinstance(code, pulumi.FileArchive), f"{layer.urn}: code is {type(code).__name__}"
    return PROJECT_DIR / code.path


@pytest.fixture(scope="module")
def host_archive() -> Path:
    return local_layer.layer_path()


def build_under_test(which: str) -> tuple[Path, dict[str, str]]:
    """(archive, marker environment) of one build: a Lambda platform "python3.12-arm64", or "host"."""
    if which == "host":
        return local_layer.layer_path(), {k: str(v) for k, v in default_environment().items()}
    runtime, architecture = which.split("-")
    return layer_build.build(layer_build.lambda_target(runtime, architecture)), lambda_environment(
        runtime, architecture
    )


BUILDS = [f"{runtime}-{arch}" for runtime, arch in LAMBDA_PLATFORMS] + ["host"]


# --- what the builds hold ---


def test_the_declared_build_and_the_host_build_hold_exactly_the_pinned_distributions(
    stack_graph: Graph, host_archive: Path
) -> None:
    # Given the layer archive the stack declares for AWS and the one the local cloud publishes
    declared = declared_archive(stack_graph)
    # When their distributions are read from the wheels' own metadata
    on_aws = {name: d["version"] for name, d in distributions(declared).items()}
    locally = {name: d["version"] for name, d in distributions(host_archive).items()}
    # Then both hold the same distributions at the same versions, and those are requirements-layer.txt's pins
    assert on_aws == locally, (
        f"{declared.name} (declared for {stack_graph.stack}) and {host_archive.name} (local cloud) differ: "
        f"only declared {sorted(on_aws.items() - locally.items())}, "
        f"only local {sorted(locally.items() - on_aws.items())}"
    )
    assert on_aws == pins(), f"{declared.name} holds {sorted(on_aws.items())}, the pins are {sorted(pins().items())}"


@pytest.mark.parametrize("which", BUILDS)
def test_every_build_holds_the_pins_and_the_pins_are_closed_for_its_platform(which: str) -> None:
    # Given the build for one platform (each Lambda runtime and architecture the settings allow, and this machine)
    archive, environment = build_under_test(which)
    held = distributions(archive)
    assert {name: d["version"] for name, d in held.items()} == pins(), f"build {archive.name}: not the pins"
    # When every requirement of every distribution in it is evaluated for that platform (no extras)
    unmet = []
    for name, dist in sorted(held.items()):
        for text in dist["requires"]:
            requirement = Requirement(text)
            if requirement.marker and not requirement.marker.evaluate({**environment, "extra": ""}):
                continue
            wanted = canonicalize_name(requirement.name)
            version = held.get(wanted, {}).get("version")
            if version is None or not requirement.specifier.contains(version, prereleases=True):
                unmet.append(f"{name} requires {text!r}, the layer has {wanted} {version}")
    # Then a pinned distribution satisfies each: installing with --no-deps left nothing out
    assert not unmet, f"build {archive.name} is not closed:\n" + "\n".join(unmet)


def test_the_declared_build_has_bytecode_only_when_built_by_the_runtimes_python(
    stack_graph: Graph, host_archive: Path
) -> None:
    # Given the declared build (for the stack's runtime) and the host build (for this interpreter)
    runtime = stack_graph.config["ecommerce:lambdaRuntime"]
    same_python = runtime == f"python{sys.version_info.major}.{sys.version_info.minor}"
    for archive, compiled in ((declared_archive(stack_graph), same_python), (host_archive, True)):
        with zipfile.ZipFile(archive) as zf:
            names = zf.namelist()
        pyc = [n for n in names if n.endswith(".pyc")]
        # Then bytecode is there exactly when the building Python could write it for the runtime's Python
        assert bool(pyc) == compiled, f"build {archive.name}: {len(pyc)} .pyc files, expected compiled={compiled}"
        tag = f".{sys.implementation.cache_tag}.pyc"
        assert all(n.endswith(tag) for n in pyc), f"build {archive.name}: bytecode for another Python"
        # And nothing but the layer's python/ folder, nothing of the building machine's (scripts, paths)
        assert all(n.startswith("python/") and not n.startswith("python/bin/") for n in names), (
            f"build {archive.name}: {[n for n in names if not n.startswith('python/') or n.startswith('python/bin/')]}"
        )


def test_bytecode_names_the_files_where_lambda_mounts_them_not_the_build_directory(host_archive: Path) -> None:
    # Given the host build, which ships bytecode
    with zipfile.ZipFile(host_archive) as zf:
        data = zf.read(f"python/pydantic/__pycache__/main.{sys.implementation.cache_tag}.pyc")
    # Then its code objects name /opt/python/..., and the pyc does not record the source's mtime (unchecked hash)
    assert b"/opt/python/pydantic/main.py" in data, f"build {host_archive.name}: pydantic/main.py compiled elsewhere"
    assert int.from_bytes(data[4:8], "little") == 0b01, f"build {host_archive.name}: pyc flags {data[4:8]!r}"


# --- determinism and the cache ---


def test_two_builds_of_the_same_pins_are_byte_for_byte_identical(tmp_path: Path, host_archive: Path) -> None:
    # Given the host build (the one with bytecode, the harder one to reproduce), built twice with the cache
    # bypassed, in other directories and at other times than the cached one
    target = layer_build.host_target()
    with ThreadPoolExecutor(2) as pool:  # side by side: the work is in pip and compileall subprocesses
        builds = [pool.submit(layer_build.build, target, cache_dir=tmp_path / d, use_cache=False) for d in "ab"]
        first, second = (build.result().read_bytes() for build in builds)
    # Then every build gives the same bytes: an unchanged stack previews without a change
    assert first == second, f"build {target.name}: two uncached builds differ"
    assert first == host_archive.read_bytes(), f"build {target.name}: an uncached build differs from the cached one"
    with zipfile.ZipFile(host_archive) as zf:
        infos = zf.infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos), f"{host_archive.name}: entries unsorted"
    assert {(i.date_time, i.external_attr >> 16) for i in infos} == {((1980, 1, 1, 0, 0, 0), 0o644)}, (
        f"{host_archive.name}: timestamps or permissions vary"
    )


def test_the_declared_build_reproduces_byte_for_byte(tmp_path: Path, dev_graph: Graph) -> None:
    # Given the archive the dev stack declares, and the same target built again with the cache bypassed
    config = dev_graph.config
    target = layer_build.lambda_target(config["ecommerce:lambdaRuntime"], config["ecommerce:lambdaArchitecture"])
    rebuilt = layer_build.build(target, cache_dir=tmp_path, use_cache=False)
    # Then the bytes are the same
    assert rebuilt.read_bytes() == declared_archive(dev_graph).read_bytes(), f"build {target.name} differs"


def test_the_cache_key_follows_the_pins_content_and_the_target(tmp_path: Path) -> None:
    # Given the pins, a copy of them elsewhere and a list differing by one version
    copy, changed = tmp_path / "copy.txt", tmp_path / "changed.txt"
    copy.write_bytes(layer_build.REQUIREMENTS.read_bytes())
    changed.write_text(layer_build.REQUIREMENTS.read_text().replace("six==1.17.0", "six==1.16.0"))
    arm = layer_build.lambda_target("python3.12", "arm64")
    key = layer_build.cache_key
    # Then the key depends on the content, not on the file, and on the platform and Python version
    assert key(arm, copy) == key(arm, layer_build.REQUIREMENTS), "same pins in another file: another cache key"
    assert key(arm, changed) != key(arm, layer_build.REQUIREMENTS), "other pins: the same cache key"
    assert len({key(layer_build.lambda_target(r, a)) for r, a in LAMBDA_PLATFORMS}) == 4, "platforms share a key"


def test_a_failed_pip_call_says_what_to_do(tmp_path: Path) -> None:
    # Given a pins file pip cannot read (no network needed to fail)
    broken = tmp_path / "requirements-layer.txt"
    broken.write_text("this is not a requirement!\n")
    # When a layer is built from it
    with pytest.raises(layer_build.LayerBuildError) as failure:
        layer_build.build(layer_build.lambda_target("python3.12", "arm64"), broken, tmp_path / "cache")
    # Then the error names the platform, quotes pip, and says what the first build needs
    message = str(failure.value)
    assert "python3.12-arm64" in message and "| " in message and "PyPI" in message, message
    assert not list((tmp_path / "cache").glob("*.zip")), "a failed build left an archive in the cache"


# --- the functions import with nothing but the stdlib, their archive and the layer ---


@pytest.fixture(scope="module")
def extracted_layer(tmp_path_factory: pytest.TempPathFactory, host_archive: Path) -> Path:
    """The host build extracted as Lambda extracts a layer: its `python/` folder is what goes on sys.path."""
    root = tmp_path_factory.mktemp("layer")
    with zipfile.ZipFile(host_archive) as zf:
        zf.extractall(root)
    return root / "python"


@pytest.fixture(scope="module")
def extracted_code(tmp_path_factory: pytest.TempPathFactory, dev_graph: Graph) -> dict[str, Path]:
    """Each function's archive, zipped from the graph as the engine zips it, extracted (Lambda's /var/task)."""
    result = {}
    for service in SERVICES:
        function = function_of(dev_graph, service)
        root = tmp_path_factory.mktemp(f"code-{service}")
        with zipfile.ZipFile(io.BytesIO(zip_bytes(function.inputs["code"], PROJECT_DIR))) as zf:
            zf.extractall(root)
        result[service] = root
    return result


def without(layer: Path, removed: str, tmp_path: Path) -> Path:
    """A view of `layer` with one top-level package missing (symlinks to everything else)."""
    view = tmp_path / f"layer-without-{removed}"
    view.mkdir()
    for entry in layer.iterdir():
        if entry.name != removed:
            (view / entry.name).symlink_to(entry)
    return view


_IMPORT = """
import json, sys, sysconfig
sys.path[:0] = {paths!r}
import handlers.{service}.app
files = {{name: m.__file__ for name, m in list(sys.modules.items()) if getattr(m, "__file__", None)}}
stdlib = [sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"]]
import botocore, pydantic
print(json.dumps({{"files": files, "stdlib": stdlib, "botocore": botocore.__version__, "pydantic": pydantic.VERSION}}))
"""


def import_handler(
    dev_graph: Graph, service: str, code: Path, layer: Path, cwd: Path, extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """`import handlers.<service>.app` in a fresh interpreter that sees the stdlib, `code` and `layer` only."""
    function = function_of(dev_graph, service)
    env = {
        **function.inputs["environment"]["variables"],  # what Lambda sets from the function's configuration
        **(extra or {}),
        "AWS_REGION": dev_graph.region,
        "AWS_DEFAULT_REGION": dev_graph.region,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    script = _IMPORT.format(paths=[str(code), str(layer)], service=service)
    # -S: no site-packages (this virtualenv's Powertools, pydantic and botocore stay invisible); -I: no PYTHON*
    # variables, no user site, not the current directory on sys.path.
    return subprocess.run(
        [sys.executable, "-I", "-S", "-c", script], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("service", SERVICES)
def test_each_function_imports_from_its_archive_and_the_layer_alone(
    service: str, dev_graph: Graph, extracted_code: dict[str, Path], extracted_layer: Path, tmp_path: Path
) -> None:
    # Given the function's archive and the layer, extracted, and an interpreter without site-packages
    code = extracted_code[service]
    # When the handler's module is imported with the function's environment
    result = import_handler(dev_graph, service, code, extracted_layer, tmp_path)
    # Then it imports
    assert result.returncode == 0, f"{function_of(dev_graph, service).urn}: import failed:\n{result.stderr[-3000:]}"
    report = json.loads(result.stdout.strip().splitlines()[-1])
    # And every module it loaded came from the stdlib, the archive or the layer, at the pinned versions
    roots = (str(code), str(extracted_layer), *report["stdlib"])
    strays = {name: path for name, path in report["files"].items() if not path.startswith(roots)}
    assert not strays, f"handlers.{service}.app loaded modules from elsewhere: {strays}"
    assert (report["botocore"], report["pydantic"]) == (pins()["botocore"], pins()["pydantic"]), report


@pytest.mark.parametrize("tracing", [False, True], ids=["tracing-off", "tracing-on"])
def test_the_xray_sdk_is_imported_from_the_layer_only_when_tracing_is_on(
    tracing: bool, dev_graph: Graph, extracted_code: dict[str, Path], extracted_layer: Path, tmp_path: Path
) -> None:
    # Given the basket function run by Lambda (which names it) with the stack's tracing off, or on
    lambda_env = {
        "AWS_LAMBDA_FUNCTION_NAME": function_of(dev_graph, "basket").physical_name,
        "POWERTOOLS_TRACE_DISABLED": "false" if tracing else "true",
    }
    # When its module is imported from its archive and the layer
    result = import_handler(dev_graph, "basket", extracted_code["basket"], extracted_layer, tmp_path, lambda_env)
    assert result.returncode == 0, f"handlers.basket.app (tracing {tracing}): import failed:\n{result.stderr[-3000:]}"
    files = json.loads(result.stdout.strip().splitlines()[-1])["files"]
    xray = {name: path for name, path in files.items() if name.split(".")[0] in ("aws_xray_sdk", "wrapt")}
    # Then the X-Ray SDK is loaded, from the layer, exactly when tracing is on
    assert bool(xray) == tracing, f"tracing {tracing}: X-Ray SDK modules loaded: {sorted(xray)[:5]}"
    assert all(path.startswith(str(extracted_layer)) for path in xray.values()), f"X-Ray SDK not from the layer: {xray}"


@pytest.mark.parametrize("removed", ["pydantic", "botocore"])
def test_a_layer_missing_a_distribution_fails_the_import(
    removed: str, dev_graph: Graph, extracted_code: dict[str, Path], extracted_layer: Path, tmp_path: Path
) -> None:
    # Given the layer without one of its packages (so the import test above can fail)
    layer = without(extracted_layer, removed, tmp_path)
    # When the product function's module is imported from its archive and that layer
    result = import_handler(dev_graph, "product", extracted_code["product"], layer, tmp_path)
    # Then the import fails on the missing package: nothing outside the layer stood in for it
    assert result.returncode != 0, f"handlers.product.app imported without {removed} in the layer"
    assert f"No module named '{removed}'" in result.stderr, result.stderr[-3000:]


# --- the graph ---


def test_the_layer_is_a_dependency_layer_component_child_every_function_uses(stack_graph: Graph) -> None:
    # Given the stack's one layer version
    (layer,) = stack_graph.of_type(LAYER)
    # Then it belongs to the DependencyLayer component, and every function lists it as its only layer
    parent = stack_graph.by_urn(layer.parent) if layer.parent else None
    assert parent is not None and parent.type == "ecommerce:functions:DependencyLayer", (
        f"{layer.urn}: parent {layer.parent}"
    )
    for function in stack_graph.of_type(FUNCTION):
        assert function.inputs["layers"] == [layer.outputs["arn"]], f"{function.urn}: {function.inputs['layers']}"
