"""The compiled (mypyc) build and the sources: which one runs, same output, stale builds refused.

``make compile`` builds the transformer's modules in place; ``make test`` sets
``ASPECTS_EXPECT_COMPILED=1`` so that CI runs this suite against the compiled build and fails if
it silently ran the sources.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest

from aspects.transform import native
from aspects.transform.native import PURE_ENV, build_info, build_state

SRC = Path(native.__file__).resolve().parents[2]
PACKAGE = SRC / "aspects" / "transform"
SUFFIX = sysconfig.get_config_var("EXT_SUFFIX")

# Every fixture event through xAPI (default and ERB-strict) and Caliper, as one JSON document.
_OUTPUT_SCRIPT = """
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from tests.transform.conftest import erb_transformer, event_files, load_json
from aspects.transform import MalformedEvent, Transformer
from aspects.transform.native import build_info
from aspects.transform.settings import TransformSettings

transformers = {
    "default": erb_transformer(),
    "strict": erb_transformer(erb_strict=True),
    "caliper": Transformer(TransformSettings(), secret="s", vocabulary="caliper"),
}
out = {}
for path in event_files():
    for kind, transformer in transformers.items():
        try:
            out[f"{kind} {path.name}"] = transformer.transform(load_json(path))
        except MalformedEvent as error:
            out[f"{kind} {path.name}"] = "malformed: " + error.reason
print(json.dumps({"info": build_info(), "output": out}, sort_keys=True))
"""


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=False,
        timeout=300,
    )


def _import_all(state: native.BuildState) -> None:
    for name in state.modules:
        importlib.import_module(name)


def test_build_info_names_the_build_that_runs() -> None:
    state = build_state()
    _import_all(state)
    info = build_info()
    event_module = sys.modules["aspects.transform.event"]
    runs_compiled = not (event_module.__file__ or "").endswith(".py")
    assert info["build"] == "compiled" if runs_compiled else str(info["build"]).startswith("python")
    assert runs_compiled == state.use_compiled
    if runs_compiled:
        assert info["compiled_modules"] == info["compilable_modules"] == len(state.modules) > 10


@pytest.mark.skipif(
    os.environ.get("ASPECTS_EXPECT_COMPILED") != "1",
    reason="ASPECTS_EXPECT_COMPILED=1 (make test) asks for the compiled build",
)
def test_the_compiled_build_is_in_use_when_expected() -> None:
    state = build_state()
    assert state.modules, "no compiled modules: run `make compile`"
    assert not state.stale, f"compiled build out of date: {state.stale}"
    _import_all(state)
    assert build_info()["build"] == "compiled"


def _output(env: dict[str, str]) -> dict[str, Any]:
    done = _run(env, "-c", _OUTPUT_SCRIPT, str(SRC.parent))
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_sources_and_build_in_use_give_the_same_statements() -> None:
    """The sources (forced) and this process's build agree on every fixture, byte for byte.

    Without a compiled build both runs use the sources; with one (make test, CI) this is the
    check that mypyc did not change what the transformer writes.
    """
    pure = _output({PURE_ENV: "1"})
    default = _output({PURE_ENV: "0"})
    assert str(pure["info"]["build"]).startswith("python")
    assert pure["info"]["compiled_modules"] == 0
    state = build_state()
    if state.modules and not state.stale:
        assert default["info"]["build"] == "compiled"
    else:
        assert str(default["info"]["build"]).startswith("python")
    fixtures = list((SRC.parent / "tests" / "fixtures" / "erb" / "events").glob("*.json"))
    assert len(pure["output"]) == 3 * len(fixtures) > 200
    assert default["output"] == pure["output"]


def test_a_stale_build_is_not_used(tmp_path: Path) -> None:
    """A source edited after the build: every module loads from its source, with a warning.

    Runs on a copy of the package; without a real build, a file that is no extension module
    stands in for one (importing it would fail, so passing proves it was never loaded).
    """
    copy = tmp_path / "src"
    shutil.copytree(SRC / "aspects", copy / "aspects", ignore=shutil.ignore_patterns("__pycache__"))
    event_py = copy / "aspects" / "transform" / "event.py"
    library = event_py.with_name(f"event{SUFFIX}")
    if not library.exists():
        library.write_text("not a library")
    event_py.write_text(event_py.read_text() + "\n# edited after the build\n")
    script = (
        "import sys, warnings\n"
        "warnings.simplefilter('always')\n"
        "import aspects.transform.event as e\n"
        "from aspects.transform import parse_line\n"
        "from aspects.transform.native import build_info\n"
        "print(e.__file__.endswith('.py'), build_info()['build'])\n"
    )
    done = _run({"PYTHONPATH": str(copy), PURE_ENV: ""}, "-c", script)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split(maxsplit=1) == [
        "True",
        "python (compiled build out of date: run `make compile`)\n",
    ]
    assert "older than their sources" in done.stderr


def test_the_picklable_classes_pickle_in_either_build() -> None:
    """Worker processes receive these; compiled classes need an explicit ``__reduce__``."""
    import pickle

    from aspects.transform import ExternalIds, StaticCourseNames
    from aspects.transform.batch import Rejection

    rejection = Rejection("tracking.log", 7, "invalid JSON", "{")
    assert pickle.loads(pickle.dumps(rejection)) == rejection
    ids = ExternalIds({"1": "a"}, {"ann": "a"}, {"1": "ann@example.com"})
    assert pickle.loads(pickle.dumps(ids)) == ids
    names = pickle.loads(pickle.dumps(StaticCourseNames({"c": "Course"}, default="?")))
    assert (names("c"), names("other")) == ("Course", "?")
