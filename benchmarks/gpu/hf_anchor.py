"""Issue 16's transformers + peft rows, measured the way `MultiLora.Benchmarks anchor` measures ours.

Adapted from the team's ../shared/gpu/hf_anchor_bench.py and hf_anchor_bench2.py (which produced the issue's
reference figures), with these changes so that each ratio compares like with like:
- one script, rows named as our presets (benchmarks/MultiLora.Benchmarks/Anchor/AnchorPreset.cs), JSON lines with
  the fields of our AnchorResult (snake_case), appended to --out;
- gradient clipping at 1.0 after backward (transformers' Trainer default, and what our trainer does);
- peak memory measured two ways per row: torch.cuda.max_memory_allocated (the caching allocator's peak, reset at
  the row's start, as before) and the driver's used memory sampled every 1 ms through NVML on a background thread
  (the same library call and interval as our NvmlMemoryPoller), so the comparison can use whichever both sides have;
- the device's bf16 matmul peak measured in-process (8192^3, 3 warm-up, 20 timed, as ours) for MFU;
- a failing row (out of memory) is written as {"name", "error"} and the next row runs.
Unchanged: random weights built on the device, bf16 model + autocast for LoRA (peft adapters float32), SDPA,
non-reentrant gradient checkpointing, projector trained, vision tower frozen, AdamW (lr 2e-4 LoRA, 2e-5 full),
text 128 tokens after the image's, labels unscored up to 1 + n_img + text // 2, 6 steps, median after 2;
generation greedy, 576 + 40 prompt tokens, 8-token warm-up, 128 new tokens (min_new_tokens = max_new_tokens).
QLoRA has no HF row (the issue compares it with our own LoRA row).

usage: python3 hf_anchor.py [--presets all|NAME,...] [--steps 6] [--out hf.jsonl]
"""
import argparse, ctypes, json, os, sys, threading, time

TINY = dict(hidden_size=2048, intermediate_size=5632, num_hidden_layers=22, num_attention_heads=32, num_key_value_heads=4)
L7B = dict(hidden_size=4096, intermediate_size=11008, num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=32)
# name: (kind, lm, image, batch, lora rank (0 = full fine-tuning), gradient checkpointing)
PRESETS = {
    "llava-tinyllama1.1b-336-lora64": ("train", TINY, 336, 16, 64, True),
    "llava-tinyllama1.1b-224-lora64": ("train", TINY, 224, 16, 64, True),
    "llava-tinyllama1.1b-336-lora64-nockpt": ("train", TINY, 336, 16, 64, False),
    "llava-tinyllama1.1b-336-full": ("train", TINY, 336, 16, 0, True),
    "llava-7b-336-lora128": ("train", L7B, 336, 8, 128, True),
    "llava-7b-336-generate-b1": ("generate", L7B, 336, 1, 0, False),
    "llava-7b-336-generate-b16": ("generate", L7B, 336, 16, 0, False),
}
GIB = 2 ** 30


class NvmlPeak:
    """Device used memory (nvmlDeviceGetMemoryInfo) sampled every 1 ms; None where there is no NVML."""

    class _Memory(ctypes.Structure):
        _fields_ = [("total", ctypes.c_ulonglong), ("free", ctypes.c_ulonglong), ("used", ctypes.c_ulonglong)]

    def __init__(self, index=0):
        self.lib = ctypes.CDLL("libnvidia-ml.so.1")
        if self.lib.nvmlInit_v2() != 0:
            raise OSError("nvmlInit_v2 failed")
        self.handle = ctypes.c_void_p()
        if self.lib.nvmlDeviceGetHandleByIndex_v2(ctypes.c_uint(index), ctypes.byref(self.handle)) != 0:
            raise OSError(f"nvmlDeviceGetHandleByIndex_v2({index}) failed")
        self.peak = self.used()
        self.stop = False
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()

    def used(self):
        m = NvmlPeak._Memory()
        return m.used if self.lib.nvmlDeviceGetMemoryInfo(self.handle, ctypes.byref(m)) == 0 else 0

    def _poll(self):
        while not self.stop:
            self.peak = max(self.peak, self.used())
            time.sleep(0.001)

    def reset(self):
        self.peak = self.used()

    def read(self):
        return max(self.peak, self.used())


def matmul_peak_tflops(torch):
    n, warmup, reps = 8192, 3, 20
    a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    for _ in range(warmup):
        a @ b
    torch.cuda.synchronize(); t0 = time.time()
    for _ in range(reps):
        a @ b
    torch.cuda.synchronize()
    return 2.0 * n ** 3 * reps / (time.time() - t0) / 1e12


def build(torch, lm, img):
    from transformers import CLIPVisionConfig, LlamaConfig, LlavaConfig, LlavaForConditionalGeneration
    v = CLIPVisionConfig(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16,
                         image_size=img, patch_size=14, hidden_act="quick_gelu", projection_dim=768)
    t = LlamaConfig(vocab_size=32064, max_position_embeddings=4096, **lm)
    n_img = (img // 14) ** 2
    cfg = LlavaConfig(vision_config=v, text_config=t, image_token_index=32000, projector_hidden_act="gelu",
                      vision_feature_layer=-2, vision_feature_select_strategy="default", image_seq_length=n_img)
    with torch.device("cuda"):
        m = LlavaForConditionalGeneration(cfg).to(torch.bfloat16)
    return m, n_img


def train_row(torch, name, lm, img, batch, r, ckpt, steps, nvml, peak_tflops, text=128):
    from peft import LoraConfig, get_peft_model
    torch.manual_seed(0)
    m, n_img = build(torch, lm, img)
    m.config.use_cache = False
    full = r == 0
    if ckpt:
        m.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if full:
        for p in m.model.vision_tower.parameters():
            p.requires_grad_(False)
        pm = m
    else:
        if ckpt:
            m.enable_input_require_grads()
        pm = get_peft_model(m, LoraConfig(r=r, lora_alpha=2 * r, lora_dropout=0.05,
            target_modules=r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)", modules_to_save=None))
        for n, p in pm.named_parameters():
            if "multi_modal_projector" in n:
                p.requires_grad_(True)
    params = [p for p in pm.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=2e-5 if full else 2e-4)
    L = n_img + text
    ids = torch.randint(3, 32000, (batch, L), device="cuda"); ids[:, 1:1 + n_img] = 32000; ids[:, 0] = 1
    labels = ids.clone(); labels[:, :1 + n_img + text // 2] = -100
    pix = torch.randn(batch, 3, img, img, device="cuda", dtype=torch.bfloat16)
    pm.train(); times = []
    for _ in range(steps):
        torch.cuda.synchronize(); t0 = time.time()
        if full:
            loss = pm(input_ids=ids, pixel_values=pix, labels=labels).loss
        else:
            with torch.autocast("cuda", dtype=torch.bfloat16):
                loss = pm(input_ids=ids, pixel_values=pix, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step(); opt.zero_grad(set_to_none=True)
        torch.cuda.synchronize(); times.append(time.time() - t0)
    timed = sorted(times[2:]) if len(times) > 2 else sorted(times)
    st = timed[len(timed) // 2]
    total = sum(p.numel() for p in pm.parameters()); train = sum(p.numel() for p in params)
    row = dict(name=name, framework="transformers", kind="train", device="cuda", batch=batch, seq=L, img=img, lora_r=r, grad_ckpt=ckpt,
               method="full" if full else "lora", step_s=round(st, 4), samples_per_s=round(batch / st, 2), tokens_per_s=round(batch * L / st),
               peak_gib=round(torch.cuda.max_memory_allocated() / GIB, 2),
               peak_device_used_gib=None if nvml is None else round(nvml.read() / GIB, 2),
               params_b=round(total / 1e9, 3), trainable_m=round(train / 1e6, 1), matmul_peak_tflops=round(peak_tflops, 1),
               final_loss=round(loss.item(), 4), step_times=[round(t, 4) for t in times],
               memory="torch.cuda.max_memory_allocated; nvml device used sampled every 1 ms")
    del pm, m, opt
    return row


def generate_row(torch, name, lm, img, batch, nvml, new=128):
    torch.manual_seed(0)
    m, n_img = build(torch, lm, img)
    m.eval()
    ids = torch.randint(3, 32000, (batch, n_img + 40), device="cuda"); ids[:, 1:1 + n_img] = 32000
    pix = torch.randn(batch, 3, img, img, device="cuda", dtype=torch.bfloat16)
    with torch.no_grad():
        m.generate(input_ids=ids, pixel_values=pix, max_new_tokens=8, min_new_tokens=8, do_sample=False)
        torch.cuda.synchronize(); t0 = time.time()
        m.generate(input_ids=ids, pixel_values=pix, max_new_tokens=new, min_new_tokens=new, do_sample=False)
        torch.cuda.synchronize(); dt = time.time() - t0
    row = dict(name=name, framework="transformers", kind="generate", device="cuda", batch=batch, seq=n_img + 40, img=img, method="greedy",
               new_tokens=new, total_s=round(dt, 3), gen_tokens_per_s=round(batch * new / dt, 1),
               peak_gib=round(torch.cuda.max_memory_allocated() / GIB, 2),
               peak_device_used_gib=None if nvml is None else round(nvml.read() / GIB, 2),
               params_b=round(sum(p.numel() for p in m.parameters()) / 1e9, 3),
               memory="torch.cuda.max_memory_allocated; nvml device used sampled every 1 ms")
    del m
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", default="all")
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--out", default=os.path.join(os.environ.get("OUT", "/tmp"), "hf.jsonl"))
    a = ap.parse_args()
    names = list(PRESETS) if a.presets == "all" else [n for n in a.presets.split(",") if n]
    unknown = [n for n in names if n not in PRESETS]
    if unknown:
        sys.exit(f"hf_anchor.py: no HF row for {', '.join(unknown)} (rows: {', '.join(PRESETS)})")
    import torch
    import transformers, peft
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, peft {peft.__version__}, {torch.cuda.get_device_name()}", flush=True)
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        nvml = NvmlPeak()
    except OSError as e:
        print(f"nvml: {e}", flush=True); nvml = None
    peak = matmul_peak_tflops(torch)
    print(f"bf16 matmul peak {peak:.1f} TFLOP/s", flush=True)
    failures = 0
    for name in names:
        kind, lm, img, batch, r, ckpt = PRESETS[name]
        torch.cuda.empty_cache(); torch.cuda.reset_peak_memory_stats()
        if nvml is not None:
            nvml.reset()
        try:
            row = train_row(torch, name, lm, img, batch, r, ckpt, a.steps, nvml, peak) if kind == "train" else generate_row(torch, name, lm, img, batch, nvml)
        except Exception as e:  # out of memory and the like: record it, run the next row
            failures += 1
            row = dict(name=name, framework="transformers", kind=kind, device="cuda", error=str(e).splitlines()[0][:300])
        torch.cuda.empty_cache()
        print(json.dumps(row), flush=True)
        with open(a.out, "a") as f:
            f.write(json.dumps(row) + "\n")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
