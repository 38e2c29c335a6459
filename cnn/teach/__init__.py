"""Teaching tools: trace a number, watch it learn, fool it, calibrate it, evaluate it, fine-tune it."""
