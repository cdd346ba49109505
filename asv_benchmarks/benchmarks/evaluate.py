"""asv benchmarks for COCO evaluation on the embedded 100-image val2014 sample
(``ioukit.data.sample_path``) and for the compiled reader of result files."""

import gzip
import json
import os
import tempfile
from pathlib import Path

from ioukit.data import sample_path
from ioukit.evaluate import coco_evaluate


def _load(name):
    with gzip.open(sample_path(name), "rt") as handle:
        return json.load(handle)


class CocoEvaluate:
    """``coco_evaluate`` end to end: from the gzipped files, and from loaded JSON, on
    the compiled kernels (``IOUKIT_TWINS=never``) and on their NumPy twins
    (``always``), which a small evaluation runs by default."""

    params = (["bbox", "segm"], ["kernels", "twins"])
    param_names = ["iou_type", "engine"]

    def setup(self, iou_type, engine):
        self.gt_path, self.dt_path = str(sample_path("gt")), str(sample_path(iou_type))
        self.gt, self.dt = _load("gt"), _load(iou_type)
        self._mode = os.environ.get("IOUKIT_TWINS")
        os.environ["IOUKIT_TWINS"] = {"kernels": "never", "twins": "always"}[engine]
        coco_evaluate(self.gt_path, self.dt_path, iou_type)  # compile outside the timing

    def teardown(self, iou_type, engine):
        if self._mode is None:
            os.environ.pop("IOUKIT_TWINS", None)
        else:
            os.environ["IOUKIT_TWINS"] = self._mode

    def time_coco_evaluate_files(self, iou_type, engine):
        coco_evaluate(self.gt_path, self.dt_path, iou_type)

    def time_coco_evaluate_loaded(self, iou_type, engine):
        coco_evaluate(self.gt, self.dt, iou_type)


class ResultsReader:
    """The compiled reader of plain (not gzipped) result files, the sample's results
    repeated ``copies`` times; the ground truth is read once, outside the timing."""

    params = (["bbox", "segm"], [1, 10])
    param_names = ["iou_type", "copies"]

    def setup(self, iou_type, copies):
        # internal API: the reader behind coco_evaluate(gt, "results.json")
        from ioukit.evaluate.readers import read_detections, read_ground_truth

        folder = Path(tempfile.gettempdir()) / "ioukit-asv"
        folder.mkdir(exist_ok=True)
        self.path = folder / f"results_{iou_type}_x{copies}.json"
        if not self.path.exists():  # written once per machine, reused by later runs
            text = json.dumps(_load(iou_type) * copies)
            partial = self.path.with_suffix(".part")
            partial.write_text(text)
            partial.replace(self.path)
        self.read = read_detections
        self.gt = read_ground_truth(str(sample_path("gt")), iou_type)
        self.read(self.path, self.gt, iou_type)  # compile outside the timing

    def time_read_results(self, iou_type, copies):
        self.read(self.path, self.gt, iou_type)
