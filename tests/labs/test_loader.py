"""The loader: the real catalogue loads; a broken lab file names its file, line and field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from cloudkata.checks import get
from cloudkata.engine import builtin_variables
from cloudkata.labs import Catalogue, LabFileError, UnknownLabError, parse_lab, resolve

VALID = """\
id: demo
title: Demo lab
summary: A lab for tests.
minutes: 5
variables:
  role: demoRole
steps:
  - id: first
    title: First step
    text: demo/01.md
    checks:
      - use: iam.role_exists
        with: {role: "{role}"}
    hints:
      - Make the role.
    solution:
      - aws iam create-role --role-name {role}
"""


def write_lab(folder: Path, text: str, name: str = "demo") -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problem(path: Path, text: str) -> LabFileError:
    write_lab(path.parent, text, path.stem)
    with pytest.raises(LabFileError) as caught:
        parse_lab(path)
    return caught.value


# --- the real catalogue --------------------------------------------------------------------


def test_the_real_catalogue_loads() -> None:
    catalogue = Catalogue.default()
    assert "ecs-iam-roles" in catalogue.ids()
    assert sorted(lab.id for lab in catalogue.load_all()) == catalogue.ids()
    lab = catalogue.load("ecs-iam-roles")
    assert [s.id for s in lab.steps] == [
        "instance-role", "execution-role", "task-role", "service-linked-role"]
    assert len(lab.quiz) == 5


def test_the_real_catalogue_refers_to_real_checks_and_content() -> None:
    """Every check a lab uses is registered with valid params; every page it names exists."""
    catalogue = Catalogue.default()
    for lab in catalogue.load_all():
        # params are validated with the lab's variables in, as the engine runs them
        for step in resolve(lab, {**builtin_variables(lab.id), **lab.variables}).steps:
            assert catalogue.content_path(step.text).is_file(), step.text
            for ref in step.checks:
                get(ref.use).params.model_validate(ref.with_)
        for page in (lab.concepts,):
            if page:
                assert catalogue.content_path(page).is_file()
        if lab.workspace:
            assert catalogue.content_path(lab.workspace).is_dir()
        for required in lab.requires:
            assert required in catalogue.ids()


def test_unknown_lab_names_the_known_ones(tmp_path: Path) -> None:
    write_lab(tmp_path, VALID)
    catalogue = Catalogue(tmp_path, tmp_path)
    with pytest.raises(UnknownLabError) as caught:
        catalogue.load("dmeo")
    assert str(caught.value) == "There is no lab 'dmeo'. Labs: demo."


def test_missing_labs_folder(tmp_path: Path) -> None:
    with pytest.raises(LabFileError, match="does not exist"):
        Catalogue(tmp_path / "nope", tmp_path).ids()


def test_labs_dir_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    labs = tmp_path / "labs"
    labs.mkdir()
    write_lab(labs, VALID)
    monkeypatch.setenv("CLOUDKATA_LABS_DIR", str(labs))
    monkeypatch.delenv("CLOUDKATA_CONTENT_DIR", raising=False)
    catalogue = Catalogue.default()
    assert catalogue.ids() == ["demo"]
    assert catalogue.content_dir == tmp_path / "content"


# --- broken files --------------------------------------------------------------------------


def test_a_valid_file_loads(tmp_path: Path) -> None:
    lab = parse_lab(write_lab(tmp_path, VALID))
    assert lab.id == "demo"
    assert lab.steps[0].checks[0].with_ == {"role": "{role}"}  # substituted later, not here


def test_unknown_field_in_a_step(tmp_path: Path) -> None:
    path = tmp_path / "demo.yaml"
    error = problem(path, VALID.replace("    checks:\n", "    chekcs:\n"))
    # line 11 is `chekcs:`; "checks" is then also missing, reported at the step
    assert f"{path}:11: steps[0].chekcs: unknown field (check its spelling)" in str(error)
    assert f"{path}:8: steps[0].checks: Field required" in str(error)


def test_missing_hints(tmp_path: Path) -> None:
    path = tmp_path / "demo.yaml"
    text = VALID.replace("    hints:\n      - Make the role.\n", "")
    error = problem(path, text)
    assert str(error) == f"{path}:8: steps[0].hints: Field required"
    assert error.problems == [(8, "steps[0].hints", "Field required")]


def test_empty_hint(tmp_path: Path) -> None:
    path = tmp_path / "demo.yaml"
    error = problem(path, VALID.replace("      - Make the role.\n", "      - '  '\n"))
    assert str(error).startswith(f"{path}:14: steps[0].hints: ")
    assert str(error).endswith("hints: a hint is empty")


def test_wrong_type_of_points(tmp_path: Path) -> None:
    path = tmp_path / "demo.yaml"
    text = VALID.replace('        with: {role: "{role}"}\n',
                         '        with: {role: "{role}"}\n        points: lots\n')
    error = problem(path, text)
    assert str(error).startswith(f"{path}:14: steps[0].checks[0].points: ")
    assert "integer" in str(error)


def test_negative_points(tmp_path: Path) -> None:
    path = tmp_path / "demo.yaml"
    text = VALID.replace('        with: {role: "{role}"}\n',
                         '        with: {role: "{role}"}\n        points: -1\n')
    assert f"{path}:14: steps[0].checks[0].points: " in str(problem(path, text))


def test_bad_yaml_syntax(tmp_path: Path) -> None:
    path = tmp_path / "demo.yaml"
    text = VALID.replace("title: First step", "title: [First step")
    error = problem(path, text)
    assert str(error).startswith(f"{path}:")
    assert "not valid YAML" in str(error)
    # the bracket opens on line 9; YAML notices on line 10, where the next key begins
    assert error.problems[0][0] == 10


def test_bad_indentation_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "demo.yaml"
    text = VALID.replace("summary: A lab for tests.", "summary: A lab for tests.\n  oops: 1")
    error = problem(path, text)
    assert error.problems[0][0] == 4
    assert "not valid YAML" in str(error)


def test_a_tab_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "demo.yaml"
    error = problem(path, VALID.replace("    text: demo/01.md", "    text: demo/01.md\n\ttab: 1"))
    assert str(error).startswith(f"{path}:11: not valid YAML: found character '\\t'")


def test_not_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "demo.yaml"
    assert str(problem(path, "- just\n- a list\n")).startswith(f"{path}:1: ")


def test_id_not_matching_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "other.yaml"
    error = problem(path, VALID)
    assert str(error) == f"{path}:1: id: 'demo' does not match the file name 'other'"


def test_bad_id_pattern(tmp_path: Path) -> None:
    path = tmp_path / "demo.yaml"
    error = problem(path, VALID.replace("  - id: first", "  - id: First Step"))
    assert f"{path}:8: steps[0].id: " in str(error)


def test_duplicate_step_ids(tmp_path: Path) -> None:
    path = tmp_path / "demo.yaml"
    second = VALID.split("steps:\n", 1)[1]
    error = problem(path, VALID + second)
    assert "step id 'first' is used twice" in str(error)


def test_several_problems_are_all_reported(tmp_path: Path) -> None:
    path = tmp_path / "demo.yaml"
    text = VALID.replace("minutes: 5", "minutes: 0").replace("    hints:\n      - Make the role.\n",
                                                            "")
    error = problem(path, text)
    fields = [field for _, field, _ in error.problems]
    assert fields == ["minutes", "steps[0].hints"]
    assert len(str(error).splitlines()) == 2


# --- ordering ------------------------------------------------------------------------------


def test_load_all_orders_prerequisites_first(tmp_path: Path) -> None:
    def lab(lab_id: str, requires: list[str]) -> str:
        return VALID.replace("id: demo", f"id: {lab_id}").replace(
            "minutes: 5", f"minutes: 5\nrequires: {requires}")

    # alphabetical order would be a, b, c; the prerequisites say c, b, a
    write_lab(tmp_path, lab("a-last", ["b-middle"]), "a-last")
    write_lab(tmp_path, lab("b-middle", ["c-first"]), "b-middle")
    write_lab(tmp_path, lab("c-first", []), "c-first")
    ids = [lab.id for lab in Catalogue(tmp_path, tmp_path).load_all()]
    assert ids == ["c-first", "b-middle", "a-last"]


def test_text_reads_content(tmp_path: Path) -> None:
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "01.md").write_text("# Hello\n", encoding="utf-8")
    assert Catalogue(tmp_path, tmp_path).text("demo/01.md") == "# Hello\n"


# --- requirements: unknown labs and cycles are refused when the catalogue loads ------------


def requiring(lab_id: str, requires: list[str]) -> str:
    return VALID.replace("id: demo", f"id: {lab_id}").replace(
        "minutes: 5", "minutes: 5\nrequires:\n" + "".join(f"  - {r}\n" for r in requires)
        if requires else "minutes: 5")


def catalogue_of(folder: Path, labs: dict[str, list[str]]) -> Catalogue:
    for lab_id, requires in labs.items():
        write_lab(folder, requiring(lab_id, requires), lab_id)
    return Catalogue(folder, folder)


def test_a_lab_that_requires_itself_is_refused_at_its_line(tmp_path: Path) -> None:
    """It used to end in a RecursionError when its prerequisites were followed."""
    catalogue = catalogue_of(tmp_path, {"a": ["a"]})
    path = tmp_path / "a.yaml"
    for load in (catalogue.load_all, lambda: catalogue.load("a")):
        with pytest.raises(LabFileError) as caught:
            load()
        assert str(caught.value) == (
            f"{path}:5: requires: Lab a requires itself (a → a is a cycle)")


def test_labs_in_a_cycle_are_refused_naming_the_cycle_and_the_file(tmp_path: Path) -> None:
    catalogue = catalogue_of(tmp_path, {"a": ["b"], "b": ["a"], "c": []})
    with pytest.raises(LabFileError) as caught:
        catalogue.load_all()
    assert str(caught.value) == (
        f"{tmp_path / 'a.yaml'}:6: requires[0]: Labs a → b → a require each other in a cycle")
    with pytest.raises(LabFileError, match="Labs a → b → a require each other in a cycle"):
        catalogue.load("b")  # one lab alone: its prerequisites are followed, and refused
    assert catalogue.load("c").id == "c"  # a lab outside the cycle still loads on its own


def test_a_longer_cycle_behind_a_good_lab_is_found(tmp_path: Path) -> None:
    catalogue = catalogue_of(tmp_path, {"start": ["x"], "x": ["y"], "y": ["z"],
                                        "z": ["base", "x"], "base": []})
    with pytest.raises(LabFileError) as caught:
        catalogue.load("start")
    assert "Labs x → y → z → x require each other in a cycle" in str(caught.value)
    assert str(caught.value).startswith(f"{tmp_path / 'x.yaml'}:6: requires[0]: ")


def test_a_lab_requiring_an_unknown_lab_is_refused(tmp_path: Path) -> None:
    catalogue = catalogue_of(tmp_path, {"a": ["base", "nope"], "base": []})
    for load in (catalogue.load_all, lambda: catalogue.load("a")):
        with pytest.raises(LabFileError) as caught:
            load()
        assert str(caught.value) == (f"{tmp_path / 'a.yaml'}:7: requires[1]: there is no lab "
                                     f"'nope' in {tmp_path} (labs: a, base)")


def test_a_lab_required_twice_is_refused(tmp_path: Path) -> None:
    catalogue = catalogue_of(tmp_path, {"a": ["base", "base"], "base": []})
    with pytest.raises(LabFileError, match="requires: base is listed twice"):
        catalogue.load_all()


def test_shared_prerequisites_are_not_a_cycle(tmp_path: Path) -> None:
    """A diamond (d needs b and c, both need a) is fine."""
    catalogue = catalogue_of(tmp_path, {"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]})
    assert [lab.id for lab in catalogue.load_all()] == ["a", "b", "c", "d"]
    assert catalogue.load("d").requires == ["b", "c"]


@pytest.mark.parametrize("args", [("list",), ("show", "b"),
                                  ("solve", "b", "--prerequisites", "--endpoint-url",
                                   "http://127.0.0.1:9")])
def test_the_cli_refuses_a_cycle_as_a_content_error(tmp_path: Path, args: tuple[str, ...],
                                                    labs_home: Path) -> None:
    """Exit 2 with the sentence, whichever command meets the lab first (no RecursionError)."""
    from click.testing import CliRunner

    from cloudkata.cli import main
    from cloudkata.exit_codes import ExitCode

    catalogue_of(tmp_path, {"a": ["b"], "b": ["a"]})
    result = CliRunner().invoke(main, ["--labs-dir", str(tmp_path), *args])
    assert result.exit_code == ExitCode.USAGE, result.output
    assert "Labs a → b → a require each other in a cycle" in result.output
    assert str(tmp_path / "a.yaml") in result.output
    assert "Traceback" not in result.output and "RecursionError" not in result.output
