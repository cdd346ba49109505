"""Every integer code table shared by the front-ends and the kernels (no numba import).

A kernel returns or takes a small integer; the front-end maps names to codes
(and codes to messages) through the tables here, so a new family adds its table
in this one file. Kernel modules import the constants they compare against.
"""

#: Box formats, metrics and the IoA denominator (``kernels.scalar``, ``cpu_boxes``).
FORMAT_CODES = {"xyxy": 0, "xywh": 1, "cxcywh": 2}
METRIC_CODES = {"iou": 0, "giou": 1, "diou": 2, "ciou": 3, "ioa": 4, "crowd_iou": 5}
OVER_CODES = {"a": 0, "b": 1, "min": 2}

#: Why ``cpu_boxes.first_invalid_box`` refused a box (index = the kernel's reason code).
BOX_INVALID_REASONS = (
    "not finite",
    "x2 < x1",
    "y2 < y1",
    "negative width",
    "negative height",
)

#: Status codes of the RLE decoders in ``cpu_rle`` (index = status; 0 is success).
RLE_OK = 0
RLE_DECODE_ERRORS = (
    "ok",
    "invalid character",
    "truncated (the last count is incomplete)",
    "a count is too large",
    "a run length is negative",
    "the run lengths do not add up to h * w",
)

#: Status of the compiled COCO results scanner ``cpu_json.scan_results``: ``JSON_FAIL``
#: hands the file to Python's JSON parser, which names the error.
JSON_OK, JSON_FAIL = 0, 1
