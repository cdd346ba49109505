"""NMS: nms() and its variants against torchvision and a greedy reference."""
