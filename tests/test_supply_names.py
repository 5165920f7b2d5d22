"""The supply-chain check's names: the popular lists, their index, and what imitates them.

The labelled table holds typosquats made for this test (one edit, a look-alike letter, a separator,
another scope), popular names in the spellings people type, and real packages of the registries that
are not popular (a seeded random sample of each registry's names, taken once).  The test prints the
precision and recall of the check over the table and holds them to a floor; every typosquat it finds
must name the package the row says it imitates.
"""
from __future__ import annotations

import gzip
import time

import pytest

from policylang.analysis.supplychain import names
from policylang.analysis.supplychain.specs import parse_spec

# (ecosystem, name, the popular package it imitates; None: it imitates nothing)
TYPOSQUATS = [
    ("pypi", "reqeusts", "requests"), ("pypi", "requets", "requests"), ("pypi", "requestss", "requests"),
    ("pypi", "nunpy", "numpy"), ("pypi", "numpyy", "numpy"), ("pypi", "pandsa", "pandas"), ("pypi", "panads", "pandas"),
    ("pypi", "djnago", "django"), ("pypi", "djang0", "django"), ("pypi", "flaks", "flask"),
    ("pypi", "colourama", "colorama"), ("pypi", "beautifulsoup5", "beautifulsoup4"), ("pypi", "pyyam1", "pyyaml"),
    ("pypi", "python-dateutils", "python-dateutil"), ("pypi", "pythondateutil", "python-dateutil"),
    ("pypi", "urlib3", "urllib3"), ("pypi", "cryptograpy", "cryptography"), ("pypi", "matpIotlib", "matplotlib"),
    ("pypi", "scikitlearn", "scikit-learn"), ("pypi", "tensorfiow", "tensorflow"), ("pypi", "setuptool", "setuptools"),
    ("pypi", "pydantik", "pydantic"), ("pypi", "sqlalchemi", "sqlalchemy"), ("pypi", "jinja3", "jinja2"),
    ("pypi", "rnatplotlib", "matplotlib"), ("pypi", "r\u0435quests", "requests"), ("pypi", "certifl", "certifi"),
    ("pypi", "boto4", "boto3"), ("pypi", "idna2", "idna"),
    ("npm", "lodahs", "lodash"), ("npm", "loadsh", "lodash"), ("npm", "expres", "express"),
    ("npm", "expresss", "express"), ("npm", "reactt", "react"), ("npm", "raect", "react"), ("npm", "axois", "axios"),
    ("npm", "crossenv", "cross-env"), ("npm", "momnet", "moment"), ("npm", "chalkk", "chalk"),
    ("npm", "webpakc", "webpack"), ("npm", "@evil/lodash", "lodash"), ("npm", "@typs/node", "@types/node"),
    ("npm", "jquerry", "jquery"), ("npm", "mongose", "mongoose"), ("npm", "dotenvv", "dotenv"),
    ("npm", "eslnt", "eslint"), ("npm", "l0dash", "lodash"), ("npm", "vue", None), ("npm", "cross-env.js", "cross-env"),
]
POPULAR = [
    ("pypi", "requests"), ("pypi", "numpy"), ("pypi", "pandas"), ("pypi", "Django"), ("pypi", "PyYAML"),
    ("pypi", "python_dateutil"), ("pypi", "Python.Dateutil"), ("pypi", "scikit-learn"), ("pypi", "typing_extensions"),
    ("pypi", "boto3"), ("pypi", "six"), ("pypi", "idna"), ("pypi", "jinja2"), ("pypi", "pytest-cov"),
    ("npm", "lodash"), ("npm", "express"), ("npm", "react"), ("npm", "@types/node"), ("npm", "cross-env"),
    ("npm", "left-pad"), ("npm", "chalk"), ("npm", "debug"), ("npm", "semver"), ("npm", "@babel/core"),
]
# Real packages that are not popular: a seeded sample of each registry's names (2026-12), not chosen.
UNPOPULAR = [("pypi", n) for n in (
    "cnaas-yaml-cli", "openfigi", "ovos-launcher", "ruben-snake-cmd", "cg3d-maya-core", "esp-trainer",
    "python-can-sontheim", "raitracker", "psicon", "mio-lang", "vdz-plone-projectreview", "pydawg",
    "prefect-spark-on-k8s-operator", "team-3-library", "up-ibacop", "twone", "tonus", "ultralog",
    "pynormalizenumexp", "mwj-apitest", "feagi-bv-macos", "abidcalculator", "qrauth", "bot-config", "civiclens",
    "grano-ui", "xrootd", "ccli-prompt", "nbt2dict", "agentai-cli", "xiyan-table-mcp-server", "slc-seminarportal",
    "simple-sphinx-xml-sitemap", "i2t", "eccodes-python", "marcopolo-pytorch", "flattaxdb", "jyj758",
    "kmerhosting-sdk", "ling-basic")] + [("npm", n) for n in (
    "@saltcorn/sqlite", "@isomorphic-git/lightning-fs", "@pqina/vue-pintura", "@playpilot/svelte-hyperscript",
    "@cloud-copilot/cli", "@amadeus-it-group/kassette", "simplify", "@pnp/spfx-controls-react",
    "@wiris/mathtype-froala3", "@analyz/mappable", "@cesium133/forgjs", "@dxos/registry-client",
    "@omnifyjp/omnify-linux-x64", "@artsy/react-html-parser", "@fontsource/cookie", "oss-ratelimit",
    "generator-ngx-rocket", "gulp-parameterized", "wonderful-fetch", "@total-typescript/tsconfig", "snackbar",
    "babel-preset-es2015-node", "jquery.json-viewer", "lineupjs", "n8n-nodes-htmlcsstoimage", "raain-model",
    "karma-live-preprocessor", "@backstage/e2e-test-utils", "@vonage/auth", "@sqds/grid", "js-cookies",
    "inquirer-test", "bitvavo", "@zag-js/preact", "npms.io", "@flowgram.ai/form-core", "own", "@types/minipass",
    "xterm-addon-ligatures", "d3-tooltip")]


def test_precision_and_recall_over_the_labelled_names() -> None:
    tp = fn = fp = tn = 0
    missed, wrong = [], []
    for eco, name, target in TYPOSQUATS:
        got = names.index(eco).imitates(name)  # type: ignore[union-attr]
        if target is None:
            fp, tn = fp + (got is not None), tn + (got is None)
        elif got is None:
            fn += 1
            missed.append(name)
        else:
            tp += 1
            if got.target != target:
                wrong.append((name, got.target, target))
    for eco, name in POPULAR + UNPOPULAR:
        got = names.index(eco).imitates(name)  # type: ignore[union-attr]
        fp, tn = fp + (got is not None), tn + (got is None)
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    print(f"\nsupply-chain names: {tp} typosquats found, {fn} missed {missed}; {fp} false alarms of "
          f"{fp + tn} other names; precision {precision:.3f}, recall {recall:.3f}")
    assert not wrong, wrong
    assert recall >= 0.9 and precision >= 0.9


@pytest.mark.parametrize("eco,name", POPULAR)
def test_a_popular_name_in_any_spelling_is_popular(eco: str, name: str) -> None:
    ix = names.index(eco)
    assert ix is not None and ix.is_popular(name) and ix.imitates(name) is None


@pytest.mark.parametrize("how,name,target,expected", [
    ("transposition", "reqeusts", "requests", "swapped"),
    ("deletion", "requsts", "requests", "missing"),
    ("insertion", "requestss", "requests", "added"),
    ("substitution", "requesta", "requests", "for"),
    ("two edits", "reqeustss", "requests", None),
    ("same", "requests", "requests", None),
])
def test_one_edit(how: str, name: str, target: str, expected: str | None) -> None:
    got = names.one_edit(name, target)
    assert (got is None) if expected is None else (got is not None and expected in got), how


def test_lists_ship_their_source_and_date_and_five_thousand_names() -> None:
    for eco in ("pypi", "npm"):
        header, listed = names.read_list(names.ecosystems()[eco].names)
        text = "\n".join(header)
        assert "source:" in text and "retrieved: 20" in text
        assert len(listed) >= 5000 and len(set(listed)) == len(listed)


def test_a_check_takes_microseconds() -> None:
    ix = names.index("pypi")
    assert ix is not None
    queries = ["reqeusts", "my-internal-lib", "numpy", "pythondateutil", "some-long-unpopular-package-name"]
    start = time.perf_counter()
    for _ in range(200):
        for q in queries:
            ix.imitates(q)
    per = (time.perf_counter() - start) / (200 * len(queries))
    assert per < 200e-6, f"{per * 1e6:.1f} µs a check"


@pytest.mark.parametrize("eco,word,kind,name,host", [
    ("pypi", "requests", "registry", "requests", None),
    ("pypi", "requests[socks]>=2.31,<3; python_version>'3.8'", "registry", "requests", None),
    ("pypi", "numpy==1.26.4", "registry", "numpy", None),
    ("pypi", "ruff@0.4.0", "registry", "ruff", None),
    ("pypi", "pkg @ https://example.com/pkg-1.0.whl", "url", "pkg", "example.com"),
    ("pypi", "git+https://github.com/u/r.git@v1#egg=r", "git", "", "github.com"),
    ("pypi", "git+ssh://git@gitlab.com/u/r.git", "git", "", "gitlab.com"),
    ("pypi", "./dist/pkg-1.0-py3-none-any.whl", "path", "", None),
    ("pypi", ".", "path", "", None),
    ("pypi", "pkg.tar.gz", "path", "", None),
    ("pypi", "file:///tmp/pkg", "path", "", None),
    ("pypi", "not a name!", "unknown", "not", None),
    ("npm", "lodash@^4.17.0", "registry", "lodash", None),
    ("npm", "@types/node@20", "registry", "@types/node", None),
    ("npm", "alias@npm:lodash@4", "registry", "lodash", None),
    ("npm", "github:user/repo", "git", "", "github.com"),
    ("npm", "user/repo#main", "git", "", "github.com"),
    ("npm", "git+ssh://git@github.com/u/r.git", "git", "", "github.com"),
    ("npm", "https://example.com/x-1.0.tgz", "url", "", "example.com"),
    ("npm", "file:../lib", "path", "", None),
    ("npm", "../lib", "path", "", None),
    ("crates", "serde@1.0", "registry", "serde", None),
    ("rubygems", "rails:7.1.0", "registry", "rails", None),
    ("go", "golang.org/x/tools/gopls@latest", "registry", "golang.org/x/tools/gopls", "golang.org"),
    ("go", "./cmd/tool", "path", "", None),
    ("debian", "curl=8.5.0-2", "registry", "curl", None),
    ("debian", "./local.deb", "path", "", None),
    ("homebrew", "someone/tools/wget", "tap", "wget", "github.com"),
    ("homebrew", "homebrew/core/wget", "registry", "wget", None),
])
def test_package_specs(eco: str, word: str, kind: str, name: str, host: str | None) -> None:
    spec = parse_spec(eco, word)
    assert (spec.kind, spec.name, spec.host) == (kind, name, host)


def test_the_packaged_lists_are_gzip_text_with_a_header() -> None:
    from importlib import resources

    raw = resources.files("policylang.analysis.supplychain").joinpath("data", "npm.txt.gz").read_bytes()
    text = gzip.decompress(raw).decode()
    assert text.startswith("# ") and "\nsemver\n" in text
