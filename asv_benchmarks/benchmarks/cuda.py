"""asv benchmarks of the CUDA kernels; every case skips without a GPU."""

import os

import numpy as np


def _cuda():
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        raise NotImplementedError("the CUDA simulator is not a benchmark target")
    try:
        from numba import cuda
    except ImportError:
        raise NotImplementedError("numba-cuda is not installed") from None
    if not cuda.is_available():
        raise NotImplementedError("no CUDA GPU")
    return cuda


class CudaBoxIoU:
    params = ([1000, 20000], ["cuda"])
    param_names = ["n", "device"]

    def setup(self, n, device):
        cuda = _cuda()
        import ioukit

        rng = np.random.default_rng(0)
        xy = rng.random((2, n, 2), dtype=np.float32) * 1000
        boxes = np.concatenate([xy, xy + 50], axis=-1)
        self.a, self.b = cuda.to_device(boxes[0]), cuda.to_device(boxes[1])
        self.out = cuda.device_array((n, n), dtype=np.float32)
        self.iou, self.sync = ioukit.box_iou, cuda.synchronize
        self.iou(self.a, self.b, out=self.out)
        self.sync()

    def time_box_iou(self, n, device):
        self.iou(self.a, self.b, out=self.out, validate=False)
        self.sync()


class CudaConfusion:
    params = ([1, 20], ["cuda"])
    param_names = ["frames", "device"]

    def setup(self, frames, device):
        cuda = _cuda()
        from ioukit.semantic import confusion_matrix

        labels = np.random.default_rng(0).integers(0, 19, (frames, 1024, 2048)).astype(np.uint8)
        self.t, self.p = cuda.to_device(labels), cuda.to_device(np.roll(labels, 3, axis=2))
        self.cm = confusion_matrix
        self.cm(self.t, self.p, 19, 255)

    def time_confusion_matrix(self, frames, device):
        self.cm(self.t, self.p, 19, 255)
