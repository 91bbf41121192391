"""The README's smallest complete lab is real: the same bytes as docs/example-lab, proven."""

from __future__ import annotations

from pathlib import Path

from cloudkata.devcheck import dev_check
from cloudkata.labs import Catalogue
from cloudkata.targets import Target

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "example-lab"


def test_the_readme_shows_the_example_lab_as_it_is() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    lab = (EXAMPLE / "labs" / "app-logs.yaml").read_text(encoding="utf-8")
    text = (EXAMPLE / "content" / "app-logs" / "01-log-group.md").read_text(encoding="utf-8")
    assert f"```yaml\n{lab}```" in readme
    assert f"```markdown\n{text}```" in readme


def test_the_example_lab_passes_dev_check_with_its_mistakes_caught(
    sandbox: Target, labs_home: Path
) -> None:
    catalogue = Catalogue(EXAMPLE / "labs", EXAMPLE / "content")
    [verdict] = dev_check(catalogue, ["app-logs"], sandbox)
    assert verdict.ok, verdict.problems
    assert (verdict.mistakes.caught, verdict.mistakes.total) == (3, 3)
