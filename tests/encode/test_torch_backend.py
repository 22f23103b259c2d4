"""PyTorch's thread count is set only when it changes: setting it again after numba's OpenMP
threads ran made every later PyTorch parallel region several times slower."""

import subprocess
import sys

import pytest

pytest.importorskip("torch")

# in a child process: changing the count here would slow the rest of the test session down
CHILD = """
import torch
from winnow.encode.torch_backend import torch_threads
calls = []
real = torch.set_num_threads
torch.set_num_threads = lambda n: (calls.append(n), real(n))
before = torch.get_num_threads()
torch_threads(torch, before)
assert calls == [], calls
other = 1 if before != 1 else 2
torch_threads(torch, other)
assert calls == [other] and torch.get_num_threads() == other, (calls, torch.get_num_threads())
"""


def test_thread_count_is_set_only_when_it_changes():
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
