"""The one settings object: every `VNSEARCH_` variable read in one place, checked, documented."""

import ast
import os
import re
from pathlib import Path

import pytest

from search.index.pool import DEFAULT_POOL_MB
from search.settings import Settings, variables

README = Path(__file__).resolve().parent.parent / "README.md"


def test_defaults_without_environment():
    assert Settings.from_env({}) == Settings()
    assert Settings.from_env({"VNSEARCH_MAX_BODY_BYTES": "", "VNSEARCH_POOL_MB": ""}) == Settings()
    assert Settings().pool_mb == DEFAULT_POOL_MB


def test_values_from_environment(tmp_path):
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    settings = Settings.from_env(
        {
            "VNSEARCH_SEARCH_BUDGET_MS": "250",
            "VNSEARCH_MAX_BODY_BYTES": "10",
            "VNSEARCH_POOL_MB": "64",
            "VNSEARCH_CONTROL_SOCKET": "/run/x.ctl",
            "VNSEARCH_ACRONYMS": f"{first}{os.pathsep}{os.pathsep}{second}",
            "VNSEARCH_CORPUS_DIR": f"{first}{os.pathsep}{second}",
            "VNSEARCH_INDEX_PROCS": "3",
        }
    )
    assert (settings.search_budget_ms, settings.max_body_bytes, settings.pool_mb) == (250, 10, 64)
    assert settings.control_socket == "/run/x.ctl"
    assert settings.acronym_files == settings.corpus_dirs == (first, second)
    assert settings.index_procs == 3


@pytest.mark.parametrize(
    ("name", "bad", "says"),
    [
        ("VNSEARCH_MAX_BODY_BYTES", "0", "at least 1"),
        ("VNSEARCH_MAX_BODY_BYTES", "-5", "at least 1"),
        ("VNSEARCH_MAX_BODY_BYTES", "ten", "a whole number"),
        ("VNSEARCH_SEARCH_BUDGET_MS", "1.5", "a whole number"),
        ("VNSEARCH_POOL_MB", "lots", "a whole number"),
        ("VNSEARCH_POOL_MB", "0", "from 1 to"),
        ("VNSEARCH_PORT", "70000", "from 1 to 65535"),
        ("VNSEARCH_WRITE_TIMEOUT", "soon", "a number"),
        ("VNSEARCH_SCORED_CACHE_MIB", "-1", "at least 0"),
    ],
)
def test_bad_values_name_the_variable_and_the_valid_range(name, bad, says):
    with pytest.raises(ValueError, match=f"{name} must be .*{says}"):
        Settings.from_env({name: bad})


def test_every_variable_is_documented_in_the_readme():
    documented = set(re.findall(r"`(VNSEARCH_[A-Z_]+)`", README.read_text(encoding="utf-8")))
    assert set(variables()) <= documented, sorted(set(variables()) - documented)


def environment_reads(source: str) -> list[int]:
    """Lines where `source` reads the environment: `os.getenv`, or `os.environ` used in any way
    but setting or deleting one variable (`os.environ[NAME] = ...`, for a library that is
    configured by one) or handing it on whole to a child process (`dict(os.environ, ...)`)."""
    tree = ast.parse(source)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "os":
            if {alias.name for alias in node.names} & {"environ", "environb", "getenv", "getenvb"}:
                lines.append(node.lineno)
        if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "os"):
            continue
        parent = parents.get(node)
        if node.attr in ("getenv", "getenvb", "environb"):
            lines.append(node.lineno)
        elif node.attr == "environ":
            written = (
                isinstance(parent, ast.Subscript)
                and isinstance(parent.ctx, (ast.Store, ast.Del))
                and not isinstance(parents.get(parent), ast.AugAssign)  # `+=` reads it first
            )
            handed_on = (
                isinstance(parent, ast.Call)
                and isinstance(parent.func, ast.Name)
                and parent.func.id == "dict"
                and parent.args[:1] == [node]
            )
            if not (written or handed_on):
                lines.append(node.lineno)
    return lines


@pytest.mark.parametrize(
    ("source", "reads"),
    [
        ("os.environ.get('VNSEARCH_PORT')", True),
        ("os.environ['VNSEARCH_PORT']", True),
        ("'VNSEARCH_PORT' in os.environ", True),
        ("os.getenv('VNSEARCH_PORT')", True),
        ("env = os.environ", True),
        ("os.environ.pop('X', None)", True),
        ("from os import environ", True),
        ("os.environ['PATH'] += ':/opt/bin'", True),
        ("os.environ['PROMETHEUS_MULTIPROC_DIR'] = path", False),
        ("del os.environ['X']", False),
        ("env = dict(os.environ, VNSEARCH_PORT='1')", False),
    ],
)
def test_environment_reads_are_recognised(source, reads):
    assert bool(environment_reads(source)) is reads


def test_nothing_but_the_settings_reads_the_environment():
    """Settings are passed down: no module of the package reads an environment variable itself.
    Setting one for a library configured that way (prometheus_client's multiprocess directory)
    or handing the environment on to a child process is not reading it."""
    package = Path(__file__).resolve().parent.parent / "search"
    readers = [
        path.relative_to(package).as_posix()
        for path in package.rglob("*.py")
        if environment_reads(path.read_text(encoding="utf-8"))
    ]
    assert readers == ["settings.py"]
