"""Speed measurements behind `disbench perf`: each module times one part and returns numbers."""
