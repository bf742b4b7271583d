"""The figures in the READMEs are the ones in the committed eval.json files (written there by
`python -m model.readme_numbers`, which scripts/train-default-model runs)."""
import shutil
import tempfile
import unittest
from pathlib import Path

from model import readme_numbers
from model.errors import BadInput

ROOT = Path(__file__).resolve().parents[2]
FILES = ["README.md", "model/README.md", "data/host/README.md", readme_numbers.BUNDLED,
         readme_numbers.HOST_NATIVE, readme_numbers.HOST_PERF]


class ReadmeNumbers(unittest.TestCase):
    def copy(self, tmp):
        for rel in FILES:
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / rel, tmp / rel)

    def test_committed_readmes_match_the_committed_evaluations(self):
        with tempfile.TemporaryDirectory() as d:
            tmp = Path(d)
            self.copy(tmp)
            readme_numbers.main(["--root", str(tmp)])
            for rel in FILES[:3]:
                self.assertEqual((tmp / rel).read_text(), (ROOT / rel).read_text(),
                                 f"{rel} is out of date: run python -m model.readme_numbers")

    def test_a_readme_without_its_block_is_refused(self):
        with tempfile.TemporaryDirectory() as d:
            tmp = Path(d)
            self.copy(tmp)
            (tmp / "model/README.md").write_text("no markers here\n")
            with self.assertRaisesRegex(BadInput, "numbers:bundled-model"):
                readme_numbers.main(["--root", str(tmp)])


if __name__ == "__main__":
    unittest.main()
