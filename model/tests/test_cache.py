"""The encoded-trace cache: entries round-trip, and stale ones are pruned oldest first."""
import os
import tempfile
import unittest
from pathlib import Path

import numpy as np

from unittest import mock

from model import data
from model.data import _load_cache, _save_cache, prune_cache, spec_hash
from model.encoding import load_spec


class CacheTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self.tmp.name)

    def tearDown(self):
        self.tmp.cleanup()

    def entry(self, name, size, age_s):
        path = self.dir / name
        path.write_bytes(b"x" * size)
        t = 1_700_000_000 - age_s
        os.utime(path, (t, t))
        return path

    def test_round_trip(self):
        seqs = [dict(cpu=1, steps=np.arange(12, dtype=np.float32).reshape(3, 4),
                     target=np.array([0, -1, 2], np.int64)),
                dict(cpu=3, steps=np.zeros((1, 4), np.float32), target=np.array([5], np.int64))]
        path = self.dir / "t-spec.npz"
        _save_cache(path, seqs)
        back = _load_cache(path)
        self.assertEqual([s["cpu"] for s in back], [1, 3])
        for a, b in zip(seqs, back):
            for k in ("steps", "target"):
                np.testing.assert_array_equal(a[k], b[k])
                self.assertEqual(a[k].dtype, b[k].dtype)
        self.assertEqual(list(self.dir.iterdir()), [path])   # no temporary file left

    def test_prunes_least_recently_used(self):
        old = self.entry("old-a.npz", 400, 300)
        mid = self.entry("mid-a.npz", 400, 200)
        new = self.entry("new-a.npz", 400, 100)
        partial = self.entry("w-a.npz.partial.npz", 400, 1000)
        other = self.entry("notes.txt", 400, 1000)
        prune_cache(self.dir, 900)
        self.assertFalse(old.exists())
        self.assertTrue(mid.exists() and new.exists())
        self.assertTrue(partial.exists(), "a file another process is writing is left alone")
        self.assertTrue(other.exists(), "only cache entries are pruned")

    def test_newest_entry_stays_even_over_the_limit(self):
        a = self.entry("a-s.npz", 1000, 200)
        b = self.entry("b-s.npz", 1000, 100)
        prune_cache(self.dir, 10)
        self.assertFalse(a.exists())
        self.assertTrue(b.exists())

    def test_the_key_follows_the_encoder_source_as_well_as_the_spec(self):
        # An edit to the estimate's rules that keeps the spec must not reuse old encodings.
        spec = load_spec()
        rules = self.dir / "eevdf.py"
        rules.write_text("rule = 1\n")
        with mock.patch.object(data, "ENCODER_SOURCES", data.ENCODER_SOURCES + (str(rules),)):
            before = spec_hash(spec)
            self.assertEqual(spec_hash(spec), before)
            rules.write_text("rule = 2\n")
            self.assertNotEqual(spec_hash(spec), before)
            self.assertNotEqual(spec_hash(dict(spec, eevdf_passed_over_max=0)), spec_hash(spec))


if __name__ == "__main__":
    unittest.main()
