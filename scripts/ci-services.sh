#!/usr/bin/env bash
# Install what the scale-out tests (tests/scale) need: Ray (a local cluster started by the tests with
# ray.init(num_cpus=2)) and pymilvus with milvus-lite (Milvus in-process on a local file). No server
# runs: OpenSearch requests are checked against the documented format, without a cluster.
# The tiny SPLADE model of the tests needs the torch extra; keep torch on its CPU build.
set -euo pipefail
pip install -q -e '.[test,ray,milvus,torch]'
python - <<'PY'
import ray, pymilvus, milvus_lite  # fail here, not in the middle of the tests
print("ray", ray.__version__, "pymilvus", pymilvus.__version__)
PY
