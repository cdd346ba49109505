"""ioukit's benchmark scripts, run from the repository root as modules:

* ``peers/``: ratios against other libraries, same inputs, same process
  (``python -m benchmarks.peers.boxes``, ``.masks``, ``.semantic``, ``.coco``,
  ``.map_stream``);
* ``startup/``: whole processes, cold and warm numba cache
  (``python -m benchmarks.startup.process``, ``.evaluate``, ``.compile_profile``);
* ``gpu/``: the GPU check (``bash benchmarks/gpu/check.sh``);
* ``scaling/``: Dask scaling and the memory of ``threshold=``
  (``python -m benchmarks.scaling.dask_scaling``);
* ``data/``: the synthetic COCO-scale set (``python -m benchmarks.data.make_coco DATA``).

``inputs`` holds the input makers shared with the asv suite (``asv_benchmarks/``),
``timing`` the medians of repeated runs. See docs/benchmarks.md for the figures.
"""
