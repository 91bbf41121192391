"""Read lab files from the catalogue; a broken file names its file, line and field.

Labs name the labs they build on (``requires``). A lab that requires an unknown lab, or sits
in a cycle of requirements, is refused when the catalogue loads: following its prerequisites
(``list``, ``solve --prerequisites``, ``dev check``) would otherwise never end.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .schema import Lab

LABS_DIR_ENV = "CLOUDKATA_LABS_DIR"
CONTENT_DIR_ENV = "CLOUDKATA_CONTENT_DIR"


class LabFileError(ValueError):
    """A lab file that cannot be used; ``str()`` is one line per problem, file:line: field."""

    def __init__(self, path: Path, problems: list[tuple[int | None, str, str]]) -> None:
        self.path = path
        self.problems = problems
        lines = []
        for line, field, message in problems:
            where = f"{path}:{line}" if line else str(path)
            lines.append(f"{where}: {field}: {message}" if field else f"{where}: {message}")
        super().__init__("\n".join(lines))


class UnknownLabError(KeyError):
    def __init__(self, lab_id: str, known: list[str]) -> None:
        super().__init__(lab_id)
        self.lab_id = lab_id
        self.known = known

    def __str__(self) -> str:
        return f"There is no lab {self.lab_id!r}. Labs: {', '.join(self.known) or 'none'}."


def _field_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the YAML node at ``loc``, or of its nearest existing parent."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == part:
                    line, node = key.start_mark.line + 1, value
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return line
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def parse_lab(path: Path, text: str | None = None) -> Lab:
    """Parse and validate one lab file."""
    text = path.read_text(encoding="utf-8") if text is None else text
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise LabFileError(path, [(line, "", f"not valid YAML: {exc.problem}")]) from None
    if not isinstance(data, dict):
        raise LabFileError(path, [(1, "", "a lab file must be a mapping of fields")])
    try:
        lab = Lab.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            problems.append((_line_of(root, loc), _field_path(loc), _error_message(err)))
        raise LabFileError(path, problems) from None
    if path.stem != lab.id:
        raise LabFileError(path, [(_line_of(root, ("id",)), "id",
                                   f"{lab.id!r} does not match the file name {path.stem!r}")])
    return lab


def _requires_line(path: Path, index: int) -> int | None:
    """The line of ``requires[index]`` in a lab file (it parsed once, so it parses again)."""
    try:
        root = yaml.compose(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    return _line_of(root, ("requires", index))


def find_cycle(requires: Mapping[str, list[str]]) -> list[str] | None:
    """A cycle in the requirements as ``[a, b, a]``, or None. Labs not in the map are ignored.

    Iterative depth-first search, so a long chain cannot hit the recursion limit either.
    """
    done: set[str] = set()
    for start in sorted(requires):
        if start in done:
            continue
        path = [start]
        stack = [iter(requires[start])]
        while stack:
            for child in stack[-1]:
                if child not in requires or child in done:
                    continue
                if child in path:
                    return [*path[path.index(child):], child]
                path.append(child)
                stack.append(iter(requires[child]))
                break
            else:
                done.add(path.pop())
                stack.pop()
    return None


def check_requirements(labs: Mapping[str, Lab], files: Mapping[str, Path],
                       known: set[str]) -> None:
    """Refuse a lab that requires an unknown lab or sits in a cycle (raises LabFileError).

    ``labs`` must hold every lab the others require, when it exists; ``known`` is every lab id
    in the catalogue.
    """
    for lab_id in sorted(labs):
        for index, required in enumerate(labs[lab_id].requires):
            if required not in known:
                path = files[lab_id]
                raise LabFileError(path, [(
                    _requires_line(path, index), f"requires[{index}]",
                    f"there is no lab {required!r} in {path.parent} "
                    f"(labs: {', '.join(sorted(known)) or 'none'})")])
    cycle = find_cycle({lab_id: lab.requires for lab_id, lab in labs.items()})
    if cycle:
        path, index = files[cycle[0]], labs[cycle[0]].requires.index(cycle[1])
        raise LabFileError(path, [(
            _requires_line(path, index), f"requires[{index}]",
            f"Labs {' → '.join(cycle)} require each other in a cycle")])


def _error_message(err: Any) -> str:
    """Pydantic's message, minus its "Value error, " prefix; unknown keys said plainly."""
    if err["type"] == "extra_forbidden":
        return "unknown field (check its spelling)"
    if err["type"] == "value_error" and "error" in err.get("ctx", {}):
        return str(err["ctx"]["error"])
    return err["msg"]


@dataclass
class Catalogue:
    """The labs and their Markdown content, from the package or an author's folders."""

    labs_dir: Path
    content_dir: Path

    @classmethod
    def default(cls, labs_dir: Path | str | None = None) -> Catalogue:
        labs_dir = labs_dir or os.environ.get(LABS_DIR_ENV)
        content_env = os.environ.get(CONTENT_DIR_ENV)
        if labs_dir:
            labs = Path(labs_dir).expanduser().resolve()
            sibling = labs.parent / "content"
            content = Path(content_env) if content_env else sibling
            return cls(labs, content)
        labs = Path(str(resources.files("cloudkata.labs")))
        packaged = Path(str(resources.files("cloudkata.content")))
        content = Path(content_env) if content_env else packaged
        return cls(labs, content)

    def lab_files(self) -> list[Path]:
        if not self.labs_dir.is_dir():
            raise LabFileError(self.labs_dir, [(None, "", "the labs folder does not exist")])
        return sorted(self.labs_dir.glob("*.yaml"))

    def ids(self) -> list[str]:
        return [path.stem for path in self.lab_files()]

    def path_of(self, lab_id: str) -> Path:
        return self.labs_dir / f"{lab_id}.yaml"

    def load(self, lab_id: str) -> Lab:
        """One lab, after checking the labs it requires (transitively) exist, without cycles."""
        path = self.path_of(lab_id)
        if not path.is_file():
            raise UnknownLabError(lab_id, self.ids())
        lab = parse_lab(path)
        known = set(self.ids())
        labs, waiting = {lab.id: lab}, [lab]
        while waiting:
            for required in waiting.pop().requires:
                if required in known and required not in labs:
                    labs[required] = parse_lab(self.path_of(required))
                    waiting.append(labs[required])
        check_requirements(labs, {other: self.path_of(other) for other in labs}, known)
        return lab

    def load_all(self) -> list[Lab]:
        """Every lab, in prerequisite order (a lab after the labs it requires)."""
        files = {path.stem: path for path in self.lab_files()}
        labs = {lab_id: parse_lab(path) for lab_id, path in files.items()}
        check_requirements(labs, files, set(files))
        ordered: list[Lab] = []
        seen: set[str] = set()

        def visit(lab_id: str) -> None:
            if lab_id in seen or lab_id not in labs:
                return
            seen.add(lab_id)
            for required in labs[lab_id].requires:
                visit(required)
            ordered.append(labs[lab_id])

        for lab_id in labs:
            visit(lab_id)
        return ordered

    def text(self, relative: str) -> str:
        return (self.content_dir / relative).read_text(encoding="utf-8")

    def content_path(self, relative: str) -> Path:
        return self.content_dir / relative
