"""Built-in case families found by their files: declarations read from source, nothing imported (stdlib only).

A built-in family is a module ``cases/<family>.py`` (any module of the package whose name does not start
with ``_``) that declares each of its cases at module level, starting in column 0::

    ATTR = CaseSpec(
        "name",                       # or a module-level constant: NAME = "name"
        factory,
        ...,
        certificate="cases.certificates.<family>:certify",   # optional; omitted or None: uncertified
    )

The registry reads three things from the file and nothing else: the attribute ``ATTR``, the case name
(the first argument or ``name=``: a string literal, or the name of a module-level constant assigned a
string literal) and ``certificate=`` (a string literal ``"module:attr"``, or ``None``).  It does not import
the module (every family module imports JAX), and it does not parse the whole module: a regular
expression finds the lines that open a declaration, :mod:`tokenize` finds the parenthesis that closes
it, and only that statement is parsed with :mod:`ast`.  Everything else in the spec (factory,
description, parameters) is read from the imported object when the case is first used, and
:mod:`cases.registry` checks then that the object carries the name and certificate read here.
"""

from __future__ import annotations

import ast
import dataclasses
import io
import pkgutil
import re
import tokenize
from collections.abc import Callable
from pathlib import Path

__all__ = ["Declaration", "read_declarations", "scan"]

#: A line that opens a module-level declaration: ``ATTR = CaseSpec(`` or ``ATTR: T = CaseSpec(`` in column 0.
_OPENING = re.compile(r"^([A-Za-z_]\w*)[ \t]*(?::[^=\n]*)?=[ \t]*CaseSpec\(", re.M)


@dataclasses.dataclass(frozen=True)
class Declaration:
    """One case declared in a file.

    Attributes:
        name: the case name.
        ref: ``"package.module:ATTR"``, where the :class:`cases.CaseSpec` lives.
        certificate: ``"module:attr"`` of its certificate, or ``None``.
        where: ``"path, line N"`` of the declaration (for messages).
    """

    name: str
    ref: str
    certificate: str | None
    where: str


def _statement(text: str, where: str, error: Callable[[str], Exception]) -> str:
    """The text of the statement that opens ``text`` (up to its closing parenthesis)."""
    depth = 0
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.OP and tok.string in "([{":
                depth += 1
            elif tok.type == tokenize.OP and tok.string in ")]}":
                depth -= 1
                if depth == 0:
                    lines = text.splitlines(keepends=True)
                    return "".join(lines[: tok.end[0] - 1]) + lines[tok.end[0] - 1][: tok.end[1]]
    except (tokenize.TokenError, SyntaxError) as exc:
        raise error(f"{where}: cannot read the CaseSpec declaration: {exc}") from None
    raise error(f"{where}: the CaseSpec declaration is never closed")


def _constant(source: str, name: str) -> str | None:
    """The string literal assigned to the module-level constant ``name`` (column 0), else ``None``."""
    m = re.search(rf"^{re.escape(name)}[ \t]*(?::[^=\n]*)?=[ \t]*(\S.*?)[ \t]*(?:#.*)?$", source, re.M)
    if m is None:
        return None
    try:
        value = ast.literal_eval(m.group(1))
    except (ValueError, SyntaxError):
        return None
    return value if isinstance(value, str) else None


def read_declarations(source: str, module: str, filename: str,
                      error: Callable[[str], Exception] = ValueError) -> list[Declaration]:
    """The case declarations of one module's ``source`` (see the module docstring for the form).

    Args:
        source: the module's text.
        module: its dotted name (``"cases.quartic"``), for the references.
        filename: its path, for messages.
        error: the exception class raised, with a one-line message naming the file and line.

    Raises:
        error: a declaration whose name or certificate is not written as the form requires.
    """
    if "CaseSpec(" not in source:
        return []
    out = []
    for m in _OPENING.finditer(source):
        line = source.count("\n", 0, m.start()) + 1
        where = f"{filename}, line {line}"
        try:
            node = ast.parse(_statement(source[m.start():], where, error)).body[0]
        except SyntaxError as exc:
            raise error(f"{where}: cannot parse the CaseSpec declaration: {exc.msg}") from None
        call = node.value if isinstance(node, (ast.Assign, ast.AnnAssign)) else None
        if not isinstance(call, ast.Call):
            raise error(f"{where}: expected 'ATTR = CaseSpec(...)'")
        keywords = {k.arg: k.value for k in call.keywords if k.arg is not None}
        name_node = call.args[0] if call.args else keywords.get("name")
        name: str | None = None
        if isinstance(name_node, ast.Constant) and isinstance(name_node.value, str):
            name = name_node.value
        elif isinstance(name_node, ast.Name):
            name = _constant(source, name_node.id)
        if not name:
            raise error(f"{where}: the case name must be a string literal or a module-level constant "
                        f"assigned one (the registry reads it without importing {module})")
        cert_node = keywords.get("certificate")
        certificate = None
        if cert_node is not None:
            literal = isinstance(cert_node, ast.Constant) and (cert_node.value is None or isinstance(cert_node.value, str))
            if not literal:
                raise error(f"{where}: certificate= of case {name!r} must be a string literal 'module:attr' or None "
                            f"(the registry reads it without importing {module})")
            certificate = cert_node.value
        out.append(Declaration(name, f"{module}:{m.group(1)}", certificate, where))
    return out


def scan(package_dir: Path, package: str, error: Callable[[str], Exception] = ValueError) -> dict[str, Declaration]:
    """``name -> Declaration`` of every case declared in the modules of one package directory.

    Modules whose name starts with ``_`` and subpackages are skipped; so is a module without source.

    Raises:
        error: a malformed declaration, or two declarations of one name (both places named).
    """
    found: dict[str, Declaration] = {}
    for info in sorted(pkgutil.iter_modules([str(package_dir)]), key=lambda i: i.name):
        if info.ispkg or info.name.startswith("_"):
            continue
        path = Path(package_dir) / f"{info.name}.py"
        if not path.is_file():
            continue
        for decl in read_declarations(path.read_text(encoding="utf-8"), f"{package}.{info.name}", str(path), error):
            if decl.name in found:
                raise error(f"case {decl.name!r} is declared twice: {found[decl.name].where} and {decl.where}")
            found[decl.name] = decl
    return found
