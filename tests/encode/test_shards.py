import numpy as np
import pytest

from winnow.encode.shards import encode_corpus_to_shards, read_shards
from winnow.errors import WinnowError
from winnow.types import SparseBatch


class CountingEncoder:
    """A deterministic encoder (term id = word length) that records what it encoded."""

    kind = "counting"

    def __init__(self, fail_after: int | None = None):
        self.calls, self.fail_after = [], fail_after

    def config(self) -> dict:
        return {"name": "counting"}

    def vocabulary(self) -> list[str]:
        return [f"length {i}" for i in range(64)]

    def encode_documents(self, docs):
        if self.fail_after is not None and len(self.calls) == self.fail_after:
            raise KeyboardInterrupt
        self.calls.append([d.id for d in docs])
        rows = []
        for d in docs:
            ids, counts = np.unique([len(w) for w in d.full_text.split()], return_counts=True)
            rows.append((ids, counts.astype(np.float32)))
        return SparseBatch.from_rows(rows)


def test_resume_skips_finished_shards(docs, tmp_path):
    with pytest.raises(KeyboardInterrupt):
        encode_corpus_to_shards(CountingEncoder(fail_after=2), docs, tmp_path, shard_size=6)
    assert sorted(p.name for p in tmp_path.glob("shard-*")) == ["shard-00000.npz", "shard-00001.npz"]
    assert not list(tmp_path.glob("*.tmp"))
    resumed = CountingEncoder()
    paths = encode_corpus_to_shards(resumed, docs, tmp_path, shard_size=6)
    assert len(paths) == 4 and resumed.calls == [[d.id for d in docs[12:18]], [d.id for d in docs[18:]]]
    fresh = CountingEncoder().encode_documents(docs)
    ids, vectors = zip(*read_shards(tmp_path))
    assert [i for shard in ids for i in shard] == [d.id for d in docs]
    np.testing.assert_array_equal(np.concatenate([v.indices for v in vectors]), fresh.indices)
    np.testing.assert_array_equal(np.concatenate([v.values for v in vectors]), fresh.values)


def test_other_settings_are_refused(docs, tmp_path):
    encode_corpus_to_shards(CountingEncoder(), docs, tmp_path, shard_size=6)
    with pytest.raises(WinnowError, match="another encoder or shard size"):
        encode_corpus_to_shards(CountingEncoder(), docs, tmp_path, shard_size=5)
