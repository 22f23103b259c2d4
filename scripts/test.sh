#!/usr/bin/env bash
# Install winnow with its test extra and run the suite twice: compiled kernels, then the same
# kernels interpreted (NUMBA_DISABLE_JIT=1) so the reference and the fast path cannot drift.
# Tests of model-based encoders run when torch is installed (pip install 'winnow[torch,onnx]').
set -euo pipefail
pip install -q -e '.[test]'
# numba's on-disk cache notices edits to a kernel's own file, not to kernels it calls from others
find src -name '*.nbi' -delete -o -name '*.nbc' -delete
python -m pytest -q
NUMBA_DISABLE_JIT=1 python -m pytest -q -m "not slow" tests/retrieve tests/index
