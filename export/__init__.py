"""Export stage: HF model dir → model bundle (ONNX fp32 / int8 / fp16, tokenizer.json, bundle.json)."""
